//! The RabbitMQ vhost rule (docs/decisions.md#rabbitmq-vhost): deployments rely on vhost `ocariot` being implied, but a
//! URI that names its own vhost is taken as it is instead of being nested.

/// Returns the URI to connect to: `/ocariot` is added when `uri` names no vhost.
pub fn rabbitmq_uri_with_vhost(uri: &str) -> Result<String, String> {
    let (scheme, rest) = uri.split_once("://").ok_or("expected an amqp:// or amqps:// URI")?;
    if scheme != "amqp" && scheme != "amqps" {
        return Err("expected an amqp:// or amqps:// URI".into());
    }
    let (before_query, query) = match rest.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.split_once('/') {
        Some((a, p)) => (a, p),
        None => (before_query, ""),
    };
    if authority.rsplit('@').next().unwrap_or("").is_empty() {
        return Err("the URI names no host".into());
    }
    if path.contains('/') {
        return Err("a vhost name must be one path segment (percent-encode a '/' in it as %2F)".into());
    }
    let vhost = if path.is_empty() { "ocariot" } else { path };
    let mut out = format!("{scheme}://{authority}/{vhost}");
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::rabbitmq_uri_with_vhost as with_vhost;

    #[test]
    fn appends_ocariot_when_no_vhost_is_named() {
        assert_eq!(
            with_vhost("amqp://guest:guest@127.0.0.1:5672").unwrap(),
            "amqp://guest:guest@127.0.0.1:5672/ocariot"
        );
        assert_eq!(with_vhost("amqps://u:p@rabbitmq:5671/").unwrap(), "amqps://u:p@rabbitmq:5671/ocariot");
        assert_eq!(with_vhost("amqp://h?heartbeat=10").unwrap(), "amqp://h/ocariot?heartbeat=10");
    }

    #[test]
    fn keeps_a_named_vhost() {
        assert_eq!(with_vhost("amqp://h:5672/other").unwrap(), "amqp://h:5672/other");
        assert_eq!(with_vhost("amqp://h:5672/%2F").unwrap(), "amqp://h:5672/%2F");
    }

    #[test]
    fn rejects_what_is_not_amqp() {
        assert!(with_vhost("http://h").is_err());
        assert!(with_vhost("localhost:5672").is_err());
        assert!(with_vhost("amqp://h/a/b").is_err());
        assert!(with_vhost("amqp://").is_err());
    }
}

//! Keeps the RabbitMQ connection up: connects, waits for a loss, and tries again every 2 s (the original's interval),
//! logging with the original's texts.

use std::sync::Arc;
use std::time::Duration;

use lapin::options::ConfirmSelectOptions;
use lapin::tcp::OwnedTLSConfig;
use lapin::uri::AMQPUri;
use lapin::{Connection, ConnectionProperties};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{Bus, BusInner, Link};
use crate::shutdown::Periodic;

const RETRY_EVERY: Duration = Duration::from_secs(2);
/// lapin keeps send and receive buffers of 32 frames each, for the life of the connection: with RabbitMQ's default
/// 128 KiB frames that is 8 MiB resident. 16 KiB frames (a URI's own `frame_max` wins) keep 1 MiB; larger messages are
/// simply split into more frames.
const FRAME_MAX: u32 = 16 * 1024;

pub fn spawn_connector(bus: Bus, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(async move {
        let inner = bus.inner.clone();
        let mut was_connected = false;
        let retry = Periodic::new(&shutdown, RETRY_EVERY);
        loop {
            let Some(connected) = retry.until_shutdown(connect(&inner)).await else { return };
            match connected {
                Ok(link) => {
                    if was_connected {
                        tracing::warn!("Publish connection successfully reconnected!");
                    } else {
                        tracing::info!("Connection established with RabbitMQ...");
                    }
                    was_connected = true;
                    *inner.link.write().await = Some(Arc::new(link));
                    if retry.until_shutdown(inner.lost.notified()).await.is_none() {
                        return;
                    }
                    inner.link.write().await.take();
                    tracing::warn!("Trying to reestablish Publish connection...");
                }
                Err(e) => {
                    tracing::warn!("Trying to reestablish Publish connection... ({e})");
                }
            }
            if !retry.next().await {
                return;
            }
        }
    })
}

async fn connect(inner: &Arc<BusInner>) -> Result<Link, lapin::Error> {
    let properties = ConnectionProperties::default()
        .with_connection_name(crate::config::APP_NAME.into())
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let mut uri: AMQPUri = inner
        .uri
        .parse()
        .map_err(|e: String| lapin::Error::from(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
    uri.query.frame_max.get_or_insert(FRAME_MAX);
    let connection = match &inner.ca_pem {
        Some(ca) => {
            let tls = OwnedTLSConfig { identity: None, cert_chain: Some(ca.clone()) };
            Connection::connect_uri_with_config(uri, properties, tls).await?
        }
        None => Connection::connect_uri(uri, properties).await?,
    };
    let notify_lost = inner.clone();
    connection.on_error(move |_| notify_lost.lost.notify_one());
    let channel = connection.create_channel().await?;
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
    Ok(Link { connection, channel, declared: Default::default() })
}

//! RabbitMQ. One long-lived connection, re-established in the background after a loss, with a publisher-confirmed
//! channel: a publish returns only once the broker has taken the message, so nothing counts as sent that was not
//! (docs/decisions.md#publish-confirm-then-record). While the broker is unreachable a publish fails at once with a
//! clear error; the API keeps answering.

mod connector;
pub mod events;
mod publisher;
mod relay;
mod subscriber;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use lapin::options::{BasicPublishOptions, ExchangeDeclareOptions};
use lapin::publisher_confirm::Confirmation;
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ExchangeKind};
use tokio::sync::{Mutex, Notify, RwLock};

pub use connector::spawn_connector;
pub use events::Event;
pub use publisher::{Delivery, LostEvent, Publisher};
pub use relay::spawn_relay;
pub use subscriber::{
    dead_letter_queue, spawn_user_delete_subscriber, Handled, UserDeleteHandler, ACCOUNT_EXCHANGE,
    FAILED_ATTEMPTS_HEADER, MAX_USER_DELETE_ATTEMPTS, USER_DELETE_KEY,
};

#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("RabbitMQ is not reachable")]
    Unavailable,
    #[error("RabbitMQ did not confirm the message in time")]
    Timeout,
    #[error("RabbitMQ refused the message")]
    Nacked,
    #[error("RabbitMQ error: {0}")]
    Broker(#[from] lapin::Error),
}

#[derive(Clone)]
pub struct Bus {
    inner: Arc<BusInner>,
}

struct BusInner {
    uri: String,
    ca_pem: Option<String>,
    correlation_id: String,
    confirm_timeout: Duration,
    link: RwLock<Option<Arc<Link>>>,
    lost: Notify,
}

/// An open connection and its confirm-mode publishing channel.
struct Link {
    connection: Connection,
    channel: Channel,
    declared: Mutex<HashSet<String>>,
}

impl Bus {
    /// `ca_pem` is the CA bundle for `amqps://` URIs. Nothing connects until [`spawn_connector`] runs.
    pub fn new(uri: String, ca_pem: Option<String>, confirm_timeout: Duration) -> Self {
        let correlation_id = format!("id-{}", random_base36(16));
        Bus {
            inner: Arc::new(BusInner {
                uri,
                ca_pem,
                correlation_id,
                confirm_timeout,
                link: RwLock::new(None),
                lost: Notify::new(),
            }),
        }
    }

    pub async fn is_connected(&self) -> bool {
        match self.inner.link.read().await.as_ref() {
            Some(link) => link.connection.status().connected(),
            None => false,
        }
    }

    /// Publishes one persistent JSON message to a durable direct exchange and waits for the broker's confirm.
    pub async fn publish(&self, exchange: &str, routing_key: &str, body: &[u8]) -> Result<(), BusError> {
        let link = self.inner.link.read().await.clone();
        let Some(link) = link.filter(|link| link.connection.status().connected()) else {
            crate::metrics::get().publish_failures.inc();
            return Err(BusError::Unavailable);
        };
        let attempt = async {
            link.declare_exchange(exchange).await?;
            let properties = BasicProperties::default()
                .with_content_type("application/json".into())
                .with_correlation_id(self.inner.correlation_id.as_str().into())
                .with_delivery_mode(2);
            let confirm = link
                .channel
                .basic_publish(exchange, routing_key, BasicPublishOptions::default(), body, properties)
                .await?;
            match confirm.await? {
                Confirmation::Ack(_) => Ok(()),
                Confirmation::Nack(_) => Err(BusError::Nacked),
                Confirmation::NotRequested => Ok(()),
            }
        };
        let result = match tokio::time::timeout(self.inner.confirm_timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(BusError::Timeout),
        };
        match result {
            Ok(()) => {
                crate::metrics::get().publish_confirms.inc();
            }
            Err(_) => {
                crate::metrics::get().publish_failures.inc();
            }
        }
        result
    }

    /// A fresh channel on the current connection, for a consumer; `None` while disconnected.
    pub async fn open_channel(&self) -> Result<Option<Channel>, lapin::Error> {
        let link = self.inner.link.read().await.clone();
        match link.filter(|link| link.connection.status().connected()) {
            Some(link) => link.connection.create_channel().await.map(Some),
            None => Ok(None),
        }
    }

    /// The id this process stamps on its messages; messages carrying it are its own.
    pub fn correlation_id(&self) -> &str {
        &self.inner.correlation_id
    }

    /// Closes the connection; the connector task ends through its own shutdown signal.
    pub async fn close(&self) {
        if let Some(link) = self.inner.link.write().await.take() {
            let _ = link.connection.close(200, "ds-agent shutting down").await;
        }
    }
}

impl Link {
    async fn declare_exchange(&self, exchange: &str) -> Result<(), lapin::Error> {
        let mut declared = self.declared.lock().await;
        if !declared.contains(exchange) {
            let options = ExchangeDeclareOptions { durable: true, ..Default::default() };
            self.channel.exchange_declare(exchange, ExchangeKind::Direct, options, FieldTable::default()).await?;
            declared.insert(exchange.to_string());
        }
        Ok(())
    }
}

fn random_base36(len: usize) -> String {
    use rand::Rng;
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    (0..len).map(|_| DIGITS[rng.gen_range(0..DIGITS.len())] as char).collect()
}

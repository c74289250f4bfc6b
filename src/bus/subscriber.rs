//! The one subscription of the service: `UserDeleteEvent` on exchange `account`, key `users.delete`. Unlike the
//! original's auto-ack, a message is acknowledged only once handled (docs/decisions.md#user-deletion); the subscription
//! is renewed after every reconnection.

use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicQosOptions, ExchangeDeclareOptions, QueueBindOptions,
    QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::ExchangeKind;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Bus;

pub const ACCOUNT_EXCHANGE: &str = "account";
pub const USER_DELETE_KEY: &str = "users.delete";
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// A message whose handling failed waits this long before going back to the queue, so a database outage does not
/// turn into a redelivery storm.
const REDELIVER_AFTER: Duration = Duration::from_secs(2);

/// What to do with a message once handled.
#[derive(Debug, PartialEq)]
pub enum Handled {
    /// Done, or malformed (logged; redelivering it would never help).
    Acknowledge,
    /// A dependency failed: deliver it again later.
    Retry,
}

/// Handles one `UserDeleteEvent` body (the service that does it lives above the bus: `accounts`).
pub trait UserDeleteHandler: Send + Sync + 'static {
    fn handle(&self, body: &[u8]) -> impl std::future::Future<Output = Handled> + Send;
}

pub fn spawn_user_delete_subscriber(
    bus: Bus,
    queue: String,
    deletion: impl UserDeleteHandler,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                result = consume(&bus, &queue, &deletion) => {
                    if let Err(e) = result {
                        if bus.is_connected().await {
                            tracing::error!("Error trying to subscribe to UserDeleteEvent: {e}");
                        }
                    }
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RETRY_EVERY) => {}
            }
        }
    })
}

/// Subscribes and handles messages until the connection goes.
async fn consume(bus: &Bus, queue: &str, deletion: &impl UserDeleteHandler) -> Result<(), lapin::Error> {
    let Some(channel) = bus.open_channel().await? else { return Ok(()) };
    let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare(ACCOUNT_EXCHANGE, ExchangeKind::Direct, durable, FieldTable::default()).await?;
    let options = QueueDeclareOptions { durable: true, ..Default::default() };
    channel.queue_declare(queue, options, FieldTable::default()).await?;
    channel
        .queue_bind(queue, ACCOUNT_EXCHANGE, USER_DELETE_KEY, QueueBindOptions::default(), FieldTable::default())
        .await?;
    channel.basic_qos(16, BasicQosOptions::default()).await?;
    let mut deliveries =
        channel.basic_consume(queue, "", BasicConsumeOptions::default(), FieldTable::default()).await?;
    tracing::info!("Subscribe in UserDeleteEvent successful!");
    while let Some(delivery) = deliveries.next().await {
        let delivery = delivery?;
        if delivery.properties.correlation_id().as_ref().map(|id| id.as_str()) == Some(bus.correlation_id()) {
            delivery.ack(BasicAckOptions::default()).await?;
            continue;
        }
        match deletion.handle(&delivery.data).await {
            Handled::Acknowledge => delivery.ack(BasicAckOptions::default()).await?,
            Handled::Retry => {
                tokio::time::sleep(REDELIVER_AFTER).await;
                delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await?;
            }
        }
    }
    Ok(())
}

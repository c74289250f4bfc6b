//! The one subscription of the service: `UserDeleteEvent` on exchange `account`, key `users.delete`. Unlike the
//! original's auto-ack, a message is acknowledged only once handled (docs/decisions.md#user-deletion); the subscription
//! is renewed after every reconnection.
//!
//! A message whose handling fails is tried again a bounded number of times: it goes back to the end of the queue, as
//! a copy carrying how often it failed (a header, since a classic queue counts no redeliveries), and the delivery is
//! acknowledged once the broker confirmed the copy. After [`MAX_USER_DELETE_ATTEMPTS`] failures it is parked, body and
//! properties unchanged, on the durable queue `<queue>.dead-letter` for operators (docs/operations.md#security).

use std::time::Duration;

use futures::StreamExt;
use lapin::message::Delivery;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicNackOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions,
    ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::publisher_confirm::Confirmation;
use lapin::types::{AMQPValue, FieldTable, ShortString};
use lapin::{Channel, ExchangeKind};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Bus;
use crate::shutdown::Periodic;

pub const ACCOUNT_EXCHANGE: &str = "account";
pub const USER_DELETE_KEY: &str = "users.delete";
const RETRY_EVERY: Duration = Duration::from_secs(2);
/// A message whose handling failed waits this long before going back to the queue, so a database outage does not
/// turn into a redelivery storm.
const REDELIVER_AFTER: Duration = Duration::from_secs(2);
/// Handlings of one message that may fail before it is parked on the dead-letter queue.
pub const MAX_USER_DELETE_ATTEMPTS: i64 = 5;
/// How many handlings of a message failed so far (absent: none).
pub const FAILED_ATTEMPTS_HEADER: &str = "x-ds-agent-failed-attempts";

/// Where messages that failed every attempt are parked: `<queue>.dead-letter`.
pub fn dead_letter_queue(queue: &str) -> String {
    format!("{queue}.dead-letter")
}

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
        let retry = Periodic::new(&shutdown, RETRY_EVERY);
        loop {
            let Some(result) = retry.until_shutdown(consume(&bus, &queue, &deletion)).await else { return };
            if let Err(e) = result {
                if bus.is_connected().await {
                    tracing::error!("Error trying to subscribe to UserDeleteEvent: {e}");
                }
            }
            if !retry.next().await {
                return;
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
    channel.queue_declare(&dead_letter_queue(queue), options, FieldTable::default()).await?;
    // The copies a failure sends back (or parks) must be confirmed before the delivery is acknowledged.
    channel.confirm_select(ConfirmSelectOptions::default()).await?;
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
                retry_or_park(&channel, queue, &delivery).await?;
            }
        }
    }
    Ok(())
}

/// Sends a failed message back to the end of `queue` with one more failure counted, or parks it on the dead-letter
/// queue once it failed [`MAX_USER_DELETE_ATTEMPTS`] times; then acknowledges the delivery. Should the broker refuse
/// the copy, the delivery is requeued as it is.
async fn retry_or_park(channel: &Channel, queue: &str, delivery: &Delivery) -> Result<(), lapin::Error> {
    let failed = failed_attempts(&delivery.properties) + 1;
    let mut headers = delivery.properties.headers().clone().unwrap_or_default();
    headers.insert(ShortString::from(FAILED_ATTEMPTS_HEADER), AMQPValue::LongLongInt(failed));
    let properties = delivery.properties.clone().with_headers(headers).with_delivery_mode(2);
    let park = failed >= MAX_USER_DELETE_ATTEMPTS;
    let target = if park { dead_letter_queue(queue) } else { queue.to_string() };
    let confirm =
        channel.basic_publish("", &target, BasicPublishOptions::default(), &delivery.data, properties).await?.await?;
    if !matches!(confirm, Confirmation::Ack(_)) {
        tracing::warn!("RabbitMQ did not take the UserDeleteEvent back to {target}; requeued as it was");
        return delivery.nack(BasicNackOptions { requeue: true, ..Default::default() }).await;
    }
    if park {
        crate::metrics::get().user_delete_dead_lettered.inc();
        tracing::error!("UserDeleteEvent failed {failed} times: parked on the queue {target} for an operator");
    }
    delivery.ack(BasicAckOptions::default()).await
}

/// The failures a message's header counts (0 without it).
fn failed_attempts(properties: &lapin::BasicProperties) -> i64 {
    let value = properties.headers().as_ref().and_then(|headers| headers.inner().get(FAILED_ATTEMPTS_HEADER).cloned());
    match value {
        Some(AMQPValue::LongLongInt(n)) => n,
        Some(AMQPValue::LongInt(n)) => i64::from(n),
        Some(AMQPValue::LongUInt(n)) => i64::from(n),
        Some(AMQPValue::ShortInt(n)) => i64::from(n),
        Some(AMQPValue::ShortShortInt(n)) => i64::from(n),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_counted_in_a_header_and_the_dead_letter_queue_is_named_after_the_queue() {
        assert_eq!(failed_attempts(&lapin::BasicProperties::default()), 0);
        let mut headers = FieldTable::default();
        headers.insert(ShortString::from(FAILED_ATTEMPTS_HEADER), AMQPValue::LongInt(3));
        assert_eq!(failed_attempts(&lapin::BasicProperties::default().with_headers(headers)), 3);
        assert_eq!(dead_letter_queue("data.sync.agent.app"), "data.sync.agent.app.dead-letter");
    }
}

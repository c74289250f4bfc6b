//! Delivers the outbox: every few seconds, while RabbitMQ is up, one instance at a time (a Redis lock) publishes the
//! kept events in order and removes each once the broker has confirmed it.

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Bus;
use crate::coordination::Coordination;
use crate::error_chain::Chain;
use crate::shutdown::Periodic;
use crate::store::Outbox;

const EVERY: Duration = Duration::from_secs(2);
const BATCH: i64 = 100;
const LOCK_TTL: Duration = Duration::from_secs(30);

pub fn spawn_relay(
    bus: Bus,
    outbox: Outbox,
    coordination: Arc<Coordination>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    // One outbox per database, so one lock per database too.
    let lock_key = format!("ds-agent:lock:outbox:{}", outbox.database_name());
    tokio::spawn(async move {
        let periodic = Periodic::new(&shutdown, EVERY);
        while periodic.next().await {
            if !bus.is_connected().await {
                continue;
            }
            let Ok(Some(guard)) = coordination.try_lock(&lock_key, LOCK_TTL).await else { continue };
            relay_once(&bus, &outbox).await;
            let _ = coordination.unlock(guard).await;
        }
    })
}

async fn relay_once(bus: &Bus, outbox: &Outbox) {
    let Ok(pending) = outbox.oldest(BATCH).await else { return };
    for message in pending {
        if let Err(e) = bus.publish(&message.exchange, &message.routing_key, &message.body).await {
            tracing::warn!("Outbox delivery stopped, will retry: {e}");
            return;
        }
        if let Err(e) = outbox.remove(message.id).await {
            // Published but still kept: it will be published again. Consumers already tolerate duplicates.
            tracing::warn!("Outbox entry published but not removed: {}", Chain(&e));
            return;
        }
        tracing::info!("Deferred event published to {} with routing key {}", message.exchange, message.routing_key);
    }
}

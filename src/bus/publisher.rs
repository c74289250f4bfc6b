//! Publishing of the service's announcements (revoke, token errors) with the original's log lines. An event the broker
//! did not confirm is kept in the outbox and delivered by the relay once RabbitMQ is back.

use super::events::{Event, DATA_SYNC_EXCHANGE};
use super::{Bus, BusError};
use crate::error_chain::Chain;
use crate::store::Outbox;

#[derive(Clone)]
pub struct Publisher {
    bus: Bus,
    outbox: Outbox,
}

/// What became of an event that had to be announced.
#[derive(Debug, PartialEq)]
pub enum Delivery {
    Confirmed,
    /// Not confirmed; kept in the outbox for the relay.
    Deferred,
}

#[derive(Debug, thiserror::Error)]
#[error("the event could neither be published ({}) nor kept for later ({})", Chain(.publish), Chain(.keep))]
pub struct LostEvent {
    pub publish: BusError,
    pub keep: crate::store::StoreError,
}

impl Publisher {
    pub fn new(bus: Bus, outbox: Outbox) -> Self {
        Publisher { bus, outbox }
    }

    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Publishes a sync event and waits for the confirm. Nothing is kept for later: the items are not recorded as
    /// synced, so the next sync sends them again (docs/decisions.md#publish-confirm-then-record).
    pub async fn publish_now(&self, event: &Event, child: &str) -> Result<(), BusError> {
        match self.bus.publish(DATA_SYNC_EXCHANGE, event.routing_key, &event.body()).await {
            Ok(()) => {
                tracing::info!("{}", success_text(event, child));
                Ok(())
            }
            Err(e) => {
                tracing::error!("{}", failure_text(event, child, &e));
                Err(e)
            }
        }
    }

    /// Publishes `event` and waits for the confirm; publishes now or later, or says it could do neither.
    pub async fn announce(&self, event: &Event, child: &str) -> Result<Delivery, LostEvent> {
        let body = event.body();
        match self.bus.publish(DATA_SYNC_EXCHANGE, event.routing_key, &body).await {
            Ok(()) => {
                tracing::info!("{}", success_text(event, child));
                Ok(Delivery::Confirmed)
            }
            Err(publish) => {
                tracing::error!("{}", failure_text(event, child, &publish));
                match self.outbox.keep(DATA_SYNC_EXCHANGE, event.routing_key, &body).await {
                    Ok(()) => Ok(Delivery::Deferred),
                    Err(keep) => {
                        tracing::error!("{} was lost: {}", event.name, Chain(&keep));
                        Err(LostEvent { publish, keep })
                    }
                }
            }
        }
    }
}

fn success_text(event: &Event, child: &str) -> String {
    match event.name {
        "FitbitRevokeEvent" => format!("Fitbit revoke event for child {child} successfully published!"),
        "FitbitAuthErrorEvent" => format!("Error message about {} from {child} successful published!", event.name),
        "FitbitLastSyncEvent" => format!("Last sync from {child} successful published!"),
        "PhysicalActivitySyncEvent" => format!("Physical activities from {child} successful published!"),
        "SleepSyncEvent" => format!("Sleep from {child} successful published!"),
        "WeightSyncEvent" => format!("Weight Measurements from {child} successful published!"),
        "LogSyncEvent" => format!("Activities logs from {child} successful published!"),
        other => format!("{other} from {child} successful published!"),
    }
}

fn failure_text(event: &Event, child: &str, error: &BusError) -> String {
    match event.name {
        "FitbitRevokeEvent" => {
            format!("There was an error publishing Fitbit revoke event for child {child}. {error}")
        }
        "FitbitAuthErrorEvent" => format!("Error at publish error message from {child}: {error}"),
        "FitbitLastSyncEvent" => format!("Error at publish last sync: {error}"),
        "PhysicalActivitySyncEvent" => format!("Error publishing physical activities: {error}"),
        "SleepSyncEvent" => format!("Error publishing sleep: {error}"),
        "WeightSyncEvent" => format!("Error publishing weights: {error}"),
        "LogSyncEvent" => format!("Error publishing logs: {error}"),
        other => format!("Error publishing {other}: {error}"),
    }
}

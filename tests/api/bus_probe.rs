//! Reads back what the service published: a private queue bound to `data.sync` with the routing keys a test cares
//! about, on the real broker.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, ExchangeDeclareOptions, QueueBindOptions, QueueDeclareOptions,
};
use lapin::types::FieldTable;
use lapin::{Connection, ConnectionProperties, Consumer, ExchangeKind};
use serde_json::Value;

pub const BROKER: &str = "amqp://guest:guest@127.0.0.1:5672/ocariot";

pub struct BusProbe {
    _connection: Connection,
    consumer: Consumer,
    routing_keys: Vec<String>,
}

/// The items of a child's sync events by routing key, in arrival order, and how many messages carried them (a sync
/// publishes page by page: one kind may take several messages).
#[derive(Default)]
pub struct Published {
    pub items: HashMap<String, Vec<Value>>,
    pub messages: HashMap<String, Vec<Received>>,
}

impl Published {
    pub fn of(&self, routing_key: &str) -> Vec<Value> {
        self.items.get(routing_key).cloned().unwrap_or_default()
    }

    pub fn messages(&self, routing_key: &str) -> &[Received] {
        self.messages.get(routing_key).map_or(&[], Vec::as_slice)
    }
}

/// A message as received: its routing key, its parsed body and its properties.
#[derive(Clone)]
pub struct Received {
    pub routing_key: String,
    pub body: Value,
    pub raw: Vec<u8>,
    pub properties: lapin::BasicProperties,
}

impl BusProbe {
    pub async fn bind(routing_keys: &[&str]) -> BusProbe {
        let connection = Connection::connect(BROKER, ConnectionProperties::default()).await.expect("broker");
        let channel = connection.create_channel().await.unwrap();
        let durable = ExchangeDeclareOptions { durable: true, ..Default::default() };
        channel.exchange_declare("data.sync", ExchangeKind::Direct, durable, FieldTable::default()).await.unwrap();
        let options = QueueDeclareOptions { exclusive: true, auto_delete: true, ..Default::default() };
        let queue = channel.queue_declare("", options, FieldTable::default()).await.unwrap();
        for key in routing_keys {
            channel
                .queue_bind(queue.name().as_str(), "data.sync", key, QueueBindOptions::default(), FieldTable::default())
                .await
                .unwrap();
        }
        let consumer = channel
            .basic_consume(queue.name().as_str(), "probe", BasicConsumeOptions::default(), FieldTable::default())
            .await
            .unwrap();
        BusProbe {
            _connection: connection,
            consumer,
            routing_keys: routing_keys.iter().map(|k| k.to_string()).collect(),
        }
    }

    /// The next message about anyone, or None after `wait`.
    pub async fn next(&mut self, wait: Duration) -> Option<Received> {
        let delivery = tokio::time::timeout(wait, self.consumer.next()).await.ok()??.ok()?;
        delivery.ack(BasicAckOptions::default()).await.ok()?;
        Some(Received {
            routing_key: delivery.routing_key.to_string(),
            body: serde_json::from_slice(&delivery.data).ok()?,
            raw: delivery.data.clone(),
            properties: delivery.properties.clone(),
        })
    }

    /// The next message about `child` (other tests publish on the same keys), or None after `wait`.
    pub async fn next_for(&mut self, child: &str, wait: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let delivery = tokio::time::timeout_at(deadline, self.consumer.next()).await.ok()??.ok()?;
            delivery.ack(BasicAckOptions::default()).await.ok()?;
            let body: Value = serde_json::from_slice(&delivery.data).ok()?;
            let about = body.as_object().and_then(|o| o.values().find_map(child_of));
            if about.as_deref() == Some(child) {
                return Some(Received {
                    routing_key: delivery.routing_key.to_string(),
                    raw: delivery.data.clone(),
                    body,
                    properties: delivery.properties.clone(),
                });
            }
        }
    }
}

impl BusProbe {
    /// Reads the child's messages until every item a sync counted in its 200 body (`counts`) has arrived on the keys
    /// this probe is bound to, or `wait` has passed; then what arrived.
    pub async fn published(&mut self, child: &str, counts: &Value, wait: Duration) -> Published {
        let logs: u64 = counts["logs"].as_object().map_or(0, |logs| logs.values().filter_map(Value::as_u64).sum());
        let expected: HashMap<&str, u64> = [
            ("physicalactivities.sync", counts["activities"].as_u64().unwrap_or(0)),
            ("sleep.sync", counts["sleep"].as_u64().unwrap_or(0)),
            ("weights.sync", counts["weights"].as_u64().unwrap_or(0)),
            ("logs.sync", logs),
        ]
        .into_iter()
        .filter(|(key, _)| self.routing_keys.iter().any(|bound| bound == key))
        .collect();
        let mut published = Published::default();
        let complete = |published: &Published| {
            expected.iter().all(|(key, count)| published.items.get(*key).map_or(0, Vec::len) as u64 >= *count)
        };
        let deadline = tokio::time::Instant::now() + wait;
        while !complete(&published) {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(message) = self.next_for(child, left).await else { break };
            let items = message.body.as_object().and_then(|o| o.values().find_map(Value::as_array)).cloned();
            published.items.entry(message.routing_key.clone()).or_default().extend(items.unwrap_or_default());
            published.messages.entry(message.routing_key.clone()).or_default().push(message);
        }
        published
    }
}

fn child_of(payload: &Value) -> Option<String> {
    match payload {
        Value::Object(o) => o.get("child_id").and_then(Value::as_str).map(str::to_string),
        Value::Array(items) => items.first().and_then(child_of),
        _ => None,
    }
}

/// Whether the service consumes `queue` (its `UserDeleteEvent` subscription) within a minute.
pub async fn subscribed(connection: &Connection, queue: &str) -> bool {
    let passive = lapin::options::QueueDeclareOptions { passive: true, ..Default::default() };
    crate::helpers::eventually(Duration::from_secs(60), || async {
        let channel = connection.create_channel().await.unwrap();
        channel.queue_declare(queue, passive, FieldTable::default()).await.is_ok_and(|q| q.consumer_count() == 1)
    })
    .await
}

/// Publishes `body` on exchange `account` with key `users.delete`, as the account service does.
pub async fn publish_user_delete(connection: &Connection, body: &str) {
    let channel = connection.create_channel().await.unwrap();
    let durable = lapin::options::ExchangeDeclareOptions { durable: true, ..Default::default() };
    channel.exchange_declare("account", ExchangeKind::Direct, durable, FieldTable::default()).await.unwrap();
    let properties = lapin::BasicProperties::default().with_content_type("application/json".into());
    channel
        .basic_publish("account", "users.delete", Default::default(), body.as_bytes(), properties)
        .await
        .unwrap()
        .await
        .unwrap();
}

/// A `UserDeleteEvent` for `child`, as the account service sends it.
pub fn user_delete_event(child: &str) -> String {
    format!(
        r#"{{"event_name":"UserDeleteEvent","timestamp":"2026-12-03T10:00:00.000Z","user":{{"id":"{child}","type":"child","username":"BR0001"}}}}"#
    )
}

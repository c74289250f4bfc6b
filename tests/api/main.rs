//! Integration tests: the real application on ephemeral ports, over HTTPS, against real MongoDB, Redis and RabbitMQ.

mod auth;
mod binary;
mod broker_outage;
mod bus_probe;
mod connections;
mod encryption;
mod error_events;
mod exact_times;
mod first_sync;
mod google;
mod google_responses;
mod health;
mod helpers;
mod http_layer;
mod jobs;
mod notifications;
mod observability;
mod own_redis;
mod permission_denied;
mod proxy;
mod redis_loss;
mod refresh;
mod routes;
mod sync;
mod sync_lifetime;
mod user_delete;

//! Integration tests: the real application on ephemeral ports, over HTTPS, against real MongoDB, Redis and RabbitMQ.

mod binary;
mod health;
mod helpers;
mod http_layer;
mod routes;

//! The exchanges and queues under one namespace: their names, declaring them, deleting them.

use super::*;

/// The names of the topology under one namespace.
#[derive(Debug, Clone)]
pub struct Names {
    namespace: String,
}

impl Names {
    pub fn new(namespace: &str) -> Self {
        Self {
            namespace: namespace.to_string(),
        }
    }

    /// The topic exchange every event is published to.
    pub fn exchange(&self) -> String {
        format!("{}.events", self.namespace)
    }

    /// The direct exchange dead letters go through.
    pub fn dead_letter_exchange(&self) -> String {
        format!("{}.dlx", self.namespace)
    }

    /// The durable queue of consumer group `group`.
    pub fn queue(&self, group: &str) -> String {
        format!("{}.{group}", self.namespace)
    }

    /// Where `group`'s exhausted deliveries go.
    pub fn dead_queue(&self, group: &str) -> String {
        format!("{}.{group}.dead", self.namespace)
    }
}

pub(super) async fn declare_exchanges(ch: &Channel, names: &Names) -> Result<(), lapin::Error> {
    let durable = ExchangeDeclareOptions {
        durable: true,
        ..Default::default()
    };
    ch.exchange_declare(
        &names.exchange(),
        ExchangeKind::Topic,
        durable,
        FieldTable::default(),
    )
    .await?;
    ch.exchange_declare(
        &names.dead_letter_exchange(),
        ExchangeKind::Direct,
        durable,
        FieldTable::default(),
    )
    .await
}

/// Declares `group`'s queue, its dead-letter queue, and the bindings for `patterns`.
pub(super) async fn declare_group(
    ch: &Channel,
    names: &Names,
    group: &str,
    patterns: &[String],
) -> Result<(), lapin::Error> {
    declare_exchanges(ch, names).await?;
    let durable = QueueDeclareOptions {
        durable: true,
        ..Default::default()
    };
    let dead = names.dead_queue(group);
    let dlx = names.dead_letter_exchange();
    ch.queue_declare(&dead, durable, FieldTable::default())
        .await?;
    ch.queue_bind(
        &dead,
        &dlx,
        group,
        QueueBindOptions::default(),
        FieldTable::default(),
    )
    .await?;
    let mut args = FieldTable::default();
    args.insert(
        "x-dead-letter-exchange".into(),
        AMQPValue::LongString(dlx.as_str().into()),
    );
    args.insert(
        "x-dead-letter-routing-key".into(),
        AMQPValue::LongString(group.into()),
    );
    let queue = names.queue(group);
    let exchange = names.exchange();
    ch.queue_declare(&queue, durable, args).await?;
    for pattern in patterns {
        ch.queue_bind(
            &queue,
            &exchange,
            pattern,
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await?;
    }
    Ok(())
}

/// Deletes the exchanges of `namespace` and the queues of `groups` in it: for tests and
/// throwaway deployments.
pub async fn delete_namespace(
    url: &str,
    namespace: &str,
    groups: &[String],
) -> Result<(), BusError> {
    let props = ConnectionProperties::default()
        .with_executor(tokio_executor_trait::Tokio::current())
        .with_reactor(tokio_reactor_trait::Tokio);
    let conn = Connection::connect(url, props).await.map_err(backend_err)?;
    let ch = conn.create_channel().await.map_err(backend_err)?;
    let names = Names::new(namespace);
    for g in groups {
        for q in [names.queue(g), names.dead_queue(g)] {
            ch.queue_delete(&q, lapin::options::QueueDeleteOptions::default())
                .await
                .map_err(backend_err)?;
        }
    }
    for x in [names.exchange(), names.dead_letter_exchange()] {
        ch.exchange_delete(&x, lapin::options::ExchangeDeleteOptions::default())
            .await
            .map_err(backend_err)?;
    }
    let _ = conn.close(200, "namespace deleted").await;
    Ok(())
}

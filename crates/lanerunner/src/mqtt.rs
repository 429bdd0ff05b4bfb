//! The tracking service's device gateway over MQTT (`tracking.mqtt`): Mosquitto with its
//! dynamic security plugin. LaneRunner's account opens one account per carrier through the
//! plugin's control topic (`$CONTROL/dynamic-security/v1`), with a role that may publish
//! only under `<prefix>/positions/<carrier org>/#`, so the broker itself vouches for the
//! carrier a position comes from; and it reads every carrier's positions through a shared
//! subscription (QoS 1, acknowledged once handled), so instances split them.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use anyhow::Context;
use async_trait::async_trait;
use lanerunner_platform::config::MqttConfig;
use lanerunner_tracking::devices::{DeviceCredentials, DeviceGateway};
use lanerunner_tracking::service::PositionInput;
use lanerunner_tracking::Tracking;
use rand::RngCore;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use uuid::Uuid;

const CONTROL: &str = "$CONTROL/dynamic-security/v1";
const RESPONSE: &str = "$CONTROL/dynamic-security/v1/response";

pub struct MqttGateway {
    client: AsyncClient,
    url: String,
    prefix: String,
    /// Control requests waiting for their response, by correlation data.
    waiting: Mutex<HashMap<String, oneshot::Sender<Value>>>,
    tracking: OnceLock<Weak<Tracking>>,
}

impl MqttGateway {
    /// Connects and subscribes; positions are handed to `tracking` once it is set.
    pub async fn connect(c: &MqttConfig) -> anyhow::Result<Arc<Self>> {
        let url = c.url.clone().context("tracking.mqtt.url")?;
        let (host, port) = url
            .trim_start_matches("mqtt://")
            .rsplit_once(':')
            .context("tracking.mqtt.url is mqtt://host:port")?;
        let port: u16 = port.parse().context("tracking.mqtt.url's port")?;
        let mut opts = MqttOptions::new(
            format!("lanerunner-{}", Uuid::new_v4().simple()),
            host,
            port,
        );
        opts.set_credentials(c.username.clone(), c.password.clone().unwrap_or_default());
        opts.set_keep_alive(Duration::from_secs(30));
        opts.set_manual_acks(true);
        let (client, mut events) = AsyncClient::new(opts, 256);
        let gateway = Arc::new(Self {
            client,
            url: url.clone(),
            prefix: c.topic_prefix.clone(),
            waiting: Mutex::new(HashMap::new()),
            tracking: OnceLock::new(),
        });
        gateway.client.subscribe(RESPONSE, QoS::AtLeastOnce).await?;
        gateway
            .client
            .subscribe(
                format!(
                    "$share/lanerunner-tracking/{}/positions/+/+",
                    c.topic_prefix
                ),
                QoS::AtLeastOnce,
            )
            .await?;
        // Messages are handled (and acknowledged) by a worker, in the order they arrived,
        // never on the task that polls the connection: an acknowledgement waits for a poll
        // to send it, so awaiting one there stalls the connection once enough queue up.
        let (work, mut queue) = tokio::sync::mpsc::unbounded_channel::<Publish>();
        let weak = Arc::downgrade(&gateway);
        tokio::spawn(async move {
            while let Some(p) = queue.recv().await {
                let Some(g) = weak.upgrade() else { break };
                g.received(p).await;
            }
        });
        let weak = Arc::downgrade(&gateway);
        tokio::spawn(async move {
            loop {
                let event = events.poll().await;
                let Some(g) = weak.upgrade() else { break };
                match event {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if work.send(p).is_err() {
                            break;
                        }
                    }
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        tracing::info!(url = %g.url, "connected to the MQTT broker")
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the MQTT connection failed; reconnecting");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        Ok(gateway)
    }

    pub fn serve(&self, tracking: &Arc<Tracking>) {
        let _ = self.tracking.set(Arc::downgrade(tracking));
    }

    async fn received(&self, p: Publish) {
        if p.topic == RESPONSE {
            if let Ok(v) = serde_json::from_slice::<Value>(&p.payload) {
                for r in v["responses"].as_array().into_iter().flatten() {
                    if let Some(id) = r["correlationData"].as_str() {
                        if let Some(tx) = self.waiting.lock().expect("waiting").remove(id) {
                            let _ = tx.send(r.clone());
                        }
                    }
                }
            }
        } else {
            self.position(&p).await;
        }
        if let Err(e) = self.client.ack(&p).await {
            tracing::warn!(error = %e, "acknowledging an MQTT message failed");
        }
    }

    /// `<prefix>/positions/<carrier>/<load>`: the broker let only that carrier publish
    /// there. A position that does not read, or for a load the carrier does not haul, is
    /// refused and acknowledged (a retry would not change it).
    async fn position(&self, p: &Publish) {
        let Some(tracking) = self.tracking.get().and_then(Weak::upgrade) else {
            return;
        };
        let parts: Vec<&str> = p.topic.split('/').collect();
        let ids = match parts.as_slice() {
            [prefix, "positions", carrier, load] if *prefix == self.prefix => {
                Uuid::parse_str(carrier)
                    .ok()
                    .zip(Uuid::parse_str(load).ok())
            }
            _ => None,
        };
        let Some((carrier, load)) = ids else {
            tracing::warn!(topic = %p.topic, "an MQTT position on a topic that names no carrier and load");
            return;
        };
        let input: PositionInput = match serde_json::from_slice(&p.payload) {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(carrier = %carrier, load_id = %load, error = %e, "an MQTT position that does not read");
                return;
            }
        };
        if let Err(e) = tracking.device_position(carrier, load, &input).await {
            tracing::info!(carrier = %carrier, load_id = %load, error = %e, "an MQTT position was not applied");
        }
    }

    /// Sends control commands and waits for their responses; each command's error, if any.
    async fn control(&self, commands: Vec<Value>) -> anyhow::Result<Vec<Option<String>>> {
        let mut rx = Vec::new();
        let mut tagged = Vec::new();
        for mut c in commands {
            let id = Uuid::new_v4().to_string();
            let (tx, r) = oneshot::channel();
            self.waiting.lock().expect("waiting").insert(id.clone(), tx);
            c["correlationData"] = json!(id);
            tagged.push(c);
            rx.push(r);
        }
        self.client
            .publish(
                CONTROL,
                QoS::AtLeastOnce,
                false,
                json!({ "commands": tagged }).to_string(),
            )
            .await?;
        let mut out = Vec::new();
        for r in rx {
            let v = tokio::time::timeout(Duration::from_secs(10), r)
                .await
                .context("the MQTT broker did not answer its control command")??;
            out.push(v["error"].as_str().map(String::from));
        }
        Ok(out)
    }
}

#[async_trait]
impl DeviceGateway for MqttGateway {
    async fn issue(&self, carrier: Uuid) -> anyhow::Result<DeviceCredentials> {
        let name = format!("carrier-{carrier}");
        let mut bytes = [0u8; 24];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        let password: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let topic = format!("{}/positions/{carrier}/", self.prefix);
        let answers = self
            .control(vec![
                json!({"command": "createRole", "rolename": name}),
                json!({"command": "addRoleACL", "rolename": name, "acltype": "publishClientSend",
                    "topic": format!("{topic}#"), "allow": true, "priority": 0}),
                json!({"command": "deleteClient", "username": name}),
                json!({"command": "createClient", "username": name, "password": password,
                    "roles": [{"rolename": name}]}),
            ])
            .await?;
        // The role and its rule exist already for a carrier asking again; the account is
        // made anew either way (its old password stops working).
        if let Some(Some(e)) = answers.last() {
            anyhow::bail!("the MQTT broker refused the carrier's account: {e}");
        }
        Ok(DeviceCredentials {
            url: self.url.clone(),
            username: name,
            password,
            topic: format!("{topic}{{load_id}}"),
        })
    }
}

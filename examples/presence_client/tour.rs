//! A walk through the presence API with the generated `PresenceClient`
//! stub: typed requests, a typed push, a typed error.

use ori::client::{Client, ClientError};

use super::app::{Heartbeat, Kick, OnlineUser, PresenceChanged, PresenceClient, SetStatus, TOPIC};

/// What the tour saw.
#[derive(Debug)]
pub struct Tour {
    /// Alice's heartbeat count after one heartbeat.
    pub heartbeats: u64,
    /// Who was online after it.
    pub online: Vec<OnlineUser>,
    /// What Bob, subscribed to `presence`, received when Alice went away.
    pub change: PresenceChanged,
    /// Why Alice (not an admin) could not kick Bob.
    pub kick_refused: ClientError,
}

async fn connect(url: &str, token: &str) -> Result<PresenceClient, ClientError> {
    Ok(Client::builder(url).query("token", token).connect().await?.into())
}

/// Alice and Bob connect to the presence server at `url`: Bob watches the
/// `presence` topic, Alice sends a heartbeat, lists who is online, goes away,
/// and tries to kick Bob.
pub async fn tour(url: &str) -> Result<Tour, ClientError> {
    let alice = connect(url, "alice-token").await?;
    let bob = connect(url, "bob-token").await?;
    let mut changes = bob.client().on::<PresenceChanged>();
    bob.client().subscribe(TOPIC).await?;

    let ack = alice.heartbeat(Heartbeat { status: "online".into() }).await?;
    let online = alice.get_online().await?;
    alice.set_status(SetStatus { status: "away".into() }).await?;
    let change = changes.recv().await.ok_or(ClientError::Closed)??;
    let kick_refused = match alice.kick(Kick { user_id: "bob".into() }).await {
        Ok(kicked) => panic!("alice is not an admin, yet kicked {} connections", kicked.connections),
        Err(error) => error,
    };

    alice.client().close().await;
    bob.client().close().await;
    Ok(Tour { heartbeats: ack.heartbeats, online, change, kick_refused })
}

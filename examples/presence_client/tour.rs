//! A walk through the presence API with the generated `PresenceClient`
//! stub: typed requests, a typed push, a typed error, and the presence
//! the client keeps.

use ori::client::{Client, ClientError, SubscribeOptions};

use super::app::{Heartbeat, Kick, OnlineUser, PresenceChanged, PresenceClient, SetStatus, Status, TOPIC};

/// What the tour saw.
#[derive(Debug)]
pub struct Tour {
    /// Users online, as Alice's heartbeat answered.
    pub online_count: usize,
    /// Who was online after it.
    pub online: Vec<OnlineUser>,
    /// Who Bob's client saw on the topic, once Alice was away.
    pub seen_by_bob: ori::Presence<Status>,
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
    bob.client().subscribe_with(TOPIC, SubscribeOptions::new().presence(true)).await?;

    let ack = alice.heartbeat(Heartbeat { status: "online".into() }).await?;
    let online = alice.get_online().await?;
    alice.set_status(SetStatus { status: "away".into() }).await?;
    let change = changes.recv().await.ok_or(ClientError::Closed)??;
    // In process, the diff of the update reaches Bob before the push sent after it.
    let seen_by_bob = bob.client().presence::<Status>(TOPIC)?.unwrap_or_default();
    let kick_refused = match alice.kick(Kick { user_id: "bob".into() }).await {
        Ok(kicked) => panic!("alice is not an admin, yet kicked {} connections", kicked.connections),
        Err(error) => error,
    };

    alice.client().close().await;
    bob.client().close().await;
    Ok(Tour { online_count: ack.online, online, seen_by_bob, change, kick_refused })
}

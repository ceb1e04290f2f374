//! History on Redis beyond the suite every broker runs
//! (`ori_tests::history_suite`, here for one Redis and for a Redis Cluster):
//! entries in ori's stream that are not ori's.

use std::time::Duration;

use ori_tests::broker_suite::Settings;
use ori_tests::history_suite::{instance_with, publish, received, subscribe};
use ori_tests::redis_cluster::RedisCluster;
use ori_tests::redis_server::RedisServer;
use serde_json::json;

mod on_one_redis {
    ori_tests::history_suite!(super::RedisServer);
}

mod on_a_redis_cluster {
    ori_tests::history_suite!(super::RedisCluster);
}

#[tokio::test]
async fn stream_entries_that_are_not_oris_are_skipped_and_counted() {
    let Some(redis) = RedisServer::start() else { return };
    let (server, backend) = instance_with(&redis, Settings::default(), Duration::from_secs(300)).await;
    let mut c = server.connect().await;
    let epoch = subscribe(&mut c, json!({"topic": "hist:j"})).await["epoch"].clone();
    publish(&server, "hist:j", ["1".to_owned()]);
    received(&mut c, "hist:j", 1).await;
    // Another program writes into ori's stream.
    let mut conn = redis.connection();
    let _: String = redis::cmd("XADD")
        .arg("ori:{hist:j}:stream")
        .arg("0-2")
        .arg("foo")
        .arg("bar")
        .query(&mut conn)
        .unwrap();
    let _: i64 = redis::cmd("HSET").arg("ori:{hist:j}:meta").arg("o").arg(2).query(&mut conn).unwrap();
    publish(&server, "hist:j", ["3".to_owned()]);
    assert_eq!(received(&mut c, "hist:j", 1).await[0].1, 3);
    let junk_before = backend.stats().junk;
    let mut back = server.connect().await;
    let ack = subscribe(&mut back, json!({"topic": "hist:j", "since": {"epoch": epoch, "offset": 0}})).await;
    assert_eq!(ack["recovered"], false, "offset 2 is not a message: {ack}");
    assert_eq!(backend.stats().junk, junk_before + 1, "the foreign entry was counted");
    let mut back = server.connect().await;
    let ack = subscribe(&mut back, json!({"topic": "hist:j", "since": {"epoch": epoch, "offset": 2}})).await;
    assert_eq!(ack["recovered"], true, "{ack}");
    assert_eq!(received(&mut back, "hist:j", 1).await[0], (json!("3"), 3));
}

//! PROTOCOL.md "Presence" across instances on a real `redis-server`
//! (started per test on a free port), and on a Redis Cluster: the scenarios
//! of [`ori_tests::presence_suite`].

mod on_one_redis {
    use ori_tests::redis_server::RedisServer;

    ori_tests::presence_suite!(RedisServer);
}

/// Data loss is seen on one Redis only (its `#generation` key), so the
/// cluster runs the scenarios without it; its outages are covered in
/// `redis_cluster.rs`.
mod on_a_redis_cluster {
    use ori_tests::redis_cluster::RedisCluster;

    ori_tests::presence_suite!(RedisCluster;
        every_instance_sees_one_member_list,
        a_killed_instance_members_leave_within_the_expiry,
        a_killed_instance_members_are_gone_from_a_topic_nobody_watches,
        a_paused_instance_leaves_then_comes_back_without_ghosts,
    );
}

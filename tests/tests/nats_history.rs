//! History on NATS JetStream: the suite every broker that keeps history
//! runs (`ori_tests::history_suite`), against a `nats-server -js` each test
//! starts on a free port.

use ori_tests::nats_server::NatsServer;

ori_tests::history_suite!(NatsServer);

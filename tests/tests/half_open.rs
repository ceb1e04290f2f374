//! Half-open TCP (issue 27, "Faults"): a peer that vanishes without a FIN is
//! found by the idle ping and closed within the idle timeout (plus the close
//! timeout for its close frame), while publishes to it go on. The peers
//! vanish by the loopback of a network namespace of the test's own going
//! down (`ip netns`, as root): nothing else on the machine is touched, and
//! nothing leaves loopback.

use std::process::Command;

#[test]
fn a_peer_that_vanishes_without_a_fin_is_closed_within_the_idle_timeout() {
    let namespace = format!("ori-half-open-{}", std::process::id());
    let made = Command::new("ip").args(["netns", "add", &namespace]).status();
    if !made.is_ok_and(|status| status.success()) {
        ori_tests::tool_missing("`ip netns add` (iproute2, as root), for the half-open TCP test");
        return;
    }
    let run = Command::new("ip")
        .args(["netns", "exec", &namespace, env!("CARGO_BIN_EXE_half_open_peer")])
        .output()
        .expect("ip netns exec runs");
    let _ = Command::new("ip").args(["netns", "delete", &namespace]).status();
    let said = String::from_utf8_lossy(&run.stdout);
    eprintln!("{said}{}", String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{said}");
    assert!(said.contains("closed both half-open connections"), "{said}");
}

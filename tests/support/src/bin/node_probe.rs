//! Starts a dev node through the harness, prints its PID and waits forever: the harness's
//! own test kills this process with SIGKILL and checks that the node dies with it.

#[tokio::main(flavor = "current_thread")]
async fn main() {
    match dreamster_test_support::DevNode::start().await {
        Ok(node) => {
            println!("node-pid {}", node.pid());
            std::future::pending::<()>().await;
        }
        Err(e) => {
            eprintln!("node-probe: {e}");
            std::process::exit(1);
        }
    }
}

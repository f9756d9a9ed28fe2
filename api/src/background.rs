//! The API's background loops (webhook dispatcher, housekeeping): each runs until told to
//! stop, then finishes what it started.

use std::future::Future;

use tokio::sync::watch;

/// A running loop; `stop` asks it to end and waits until it has.
pub struct Running {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts `body`, which must return once its receiver changes (or its sender is gone:
/// dropping the handle stops the loop too, without waiting).
pub fn spawn<F, Fut>(body: F) -> Running
where
    F: FnOnce(watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(body(stopped));
    Running { stop, task }
}

//! Group commit: a background task takes whatever writes have queued up while it wrote the previous batch and
//! writes them together, so that under load one statement and one commit serve many requests, and a request
//! alone costs what it would cost on its own.

use std::future::Future;

use sea_orm::{DatabaseConnection, DbErr};
use tokio::sync::{mpsc, oneshot};

use super::{RepoError, RepoResult};

type Reply<R> = oneshot::Sender<RepoResult<R>>;

/// The handle to a background writer of `T`s, each answered with an `R`.
pub struct GroupWriter<T, R> {
    tx: mpsc::Sender<(T, Reply<R>)>,
    what: &'static str,
}

impl<T, R> Clone for GroupWriter<T, R> {
    fn clone(&self) -> Self {
        GroupWriter {
            tx: self.tx.clone(),
            what: self.what,
        }
    }
}

impl<T: Send + 'static, R: Send + 'static> GroupWriter<T, R> {
    /// Starts the writer task on the current runtime. `write` writes a batch of at most `batch` items and answers
    /// each, in order; `what` names the writer in errors.
    pub fn start<F, Fut>(db: DatabaseConnection, batch: usize, what: &'static str, write: F) -> Self
    where
        F: Fn(DatabaseConnection, Vec<T>) -> Fut + Send + 'static,
        Fut: Future<Output = Vec<RepoResult<R>>> + Send,
    {
        let (tx, mut rx) = mpsc::channel::<(T, Reply<R>)>(4 * batch);
        tokio::spawn(async move {
            while let Some((first, reply)) = rx.recv().await {
                let mut items = Vec::with_capacity(batch);
                let mut replies = Vec::with_capacity(batch);
                items.push(first);
                replies.push(reply);
                while items.len() < batch {
                    match rx.try_recv() {
                        Ok((item, reply)) => {
                            items.push(item);
                            replies.push(reply);
                        }
                        Err(_) => break,
                    }
                }
                for (reply, outcome) in replies.into_iter().zip(write(db.clone(), items).await) {
                    // A caller that went away (its client disconnected) gets no answer; its write stands.
                    let _ = reply.send(outcome);
                }
            }
        });
        GroupWriter { tx, what }
    }

    /// Writes one item together with whatever other items are waiting.
    pub async fn write(&self, item: T) -> RepoResult<R> {
        let stopped = || RepoError::Db(DbErr::Custom(format!("the {} has stopped", self.what)));
        let (tx, rx) = oneshot::channel();
        self.tx.send((item, tx)).await.map_err(|_| stopped())?;
        rx.await.map_err(|_| stopped())?
    }
}

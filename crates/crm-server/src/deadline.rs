//! The request timeout, and the one kind of write it must not cut short.
//!
//! A request that takes longer than the timeout is abandoned with a 503 that says nothing it
//! did was kept ([`run`]): its future is dropped, and an open transaction rolls back. That
//! promise cannot be kept for a statement that commits on its own (PostgreSQL's one-statement
//! delete, `crate::contacts::delete`) once it has been sent: the database would go on and
//! commit it after the 503. So such a statement says so before it is sent
//! ([`sending_final_statement`]), tells the database how long it may wait for locks (the time
//! left), and from then on the request waits for the statement's answer instead of being
//! abandoned: the answer says what happened — the delete, or a 503 because the database gave up
//! waiting for a lock at the deadline, with nothing kept.
//!
//! A transaction's commit is such a statement too ([`committing`]): once sent, it is awaited.
//!
//! The deadline is a task-local value that [`run`] sets around the request's future, so the
//! code in between does not pass it along.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use tokio::time::Instant;

tokio::task_local! {
    static DEADLINE: Deadline;
}

/// A request's deadline.
#[derive(Clone)]
struct Deadline {
    timeout: Duration,
    at: Instant,
    /// Set once a statement that commits on its own has been handed to the database.
    sent: Arc<AtomicBool>,
}

/// Runs `work` (a request's future) under a deadline `timeout` from now. `None` when the
/// deadline passed before `work` sent a final statement (`work` is dropped); otherwise `work`'s
/// output, however long that took.
pub async fn run<F: Future>(timeout: Duration, work: F) -> Option<F::Output> {
    let deadline = Deadline {
        timeout,
        at: Instant::now() + timeout,
        sent: Arc::new(AtomicBool::new(false)),
    };
    let sent = deadline.sent.clone();
    let work = DEADLINE.scope(deadline, work);
    tokio::pin!(work);
    tokio::select! {
        // The request first: one that is done when the timer fires too is answered.
        biased;
        output = &mut work => Some(output),
        () = tokio::time::sleep(timeout) => {
            if sent.load(Ordering::Acquire) {
                Some(work.await)
            } else {
                None
            }
        }
    }
}

/// What a statement that commits on its own may wait for locks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockWait {
    /// Outside a request (the command line, a benchmark): as long as the database's settings say.
    Unbounded,
    /// At most this long: the time left before the request's deadline.
    AtMost(Duration),
}

/// Marks the request as waiting for a statement that commits on its own, about to be sent, and
/// returns how long the statement may wait for locks. `Err` (with the request timeout) when the
/// deadline has already passed: the statement must not be sent.
pub fn sending_final_statement() -> Result<LockWait, Duration> {
    DEADLINE
        .try_with(|deadline| {
            let left = deadline.at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(deadline.timeout);
            }
            deadline.sent.store(true, Ordering::Release);
            Ok(LockWait::AtMost(left))
        })
        .unwrap_or(Ok(LockWait::Unbounded))
}

/// Marks the request as waiting for a commit about to be sent: from here on the request waits
/// for its answer, even past the deadline, instead of being abandoned with a 503 that says
/// nothing was kept while the commit goes on and takes effect. (A commit waits for no lock: it
/// takes the time it takes to write.)
pub fn committing() {
    let _ = DEADLINE.try_with(|deadline| deadline.sent.store(true, Ordering::Release));
}

/// The time left before the deadline of the request this runs in; `None` outside a request.
pub fn time_left() -> Option<Duration> {
    DEADLINE
        .try_with(|deadline| deadline.at.saturating_duration_since(Instant::now()))
        .ok()
}

/// Whether the request this runs in is past its deadline; `false` outside a request. A write
/// whose commit failed past the deadline is not tried again.
pub fn passed() -> bool {
    time_left().is_some_and(|left| left.is_zero())
}

/// The request timeout of the request this runs in, if any.
pub fn timeout() -> Option<Duration> {
    DEADLINE.try_with(|deadline| deadline.timeout).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_millis(100);

    #[tokio::test]
    async fn work_past_the_deadline_is_abandoned() {
        let out = run(TIMEOUT, async {
            tokio::time::sleep(4 * TIMEOUT).await;
            1
        })
        .await;
        assert_eq!(out, None);
    }

    #[tokio::test]
    async fn work_within_the_deadline_answers() {
        let out = run(TIMEOUT, async { timeout() }).await;
        assert_eq!(out, Some(Some(TIMEOUT)));
        assert_eq!(timeout(), None, "no deadline outside run");
    }

    #[tokio::test]
    async fn a_final_statement_sent_before_the_deadline_is_awaited_past_it() {
        let out = run(TIMEOUT, async {
            let wait = sending_final_statement();
            // The database's answer comes after the deadline.
            tokio::time::sleep(4 * TIMEOUT).await;
            wait
        })
        .await;
        let Some(Ok(LockWait::AtMost(left))) = out else {
            panic!("the statement's answer is awaited, its lock wait bounded: {out:?}");
        };
        assert!(!left.is_zero() && left <= TIMEOUT, "{left:?}");
    }

    #[tokio::test]
    async fn a_final_statement_is_not_sent_past_the_deadline() {
        let passed = Deadline {
            timeout: TIMEOUT,
            at: Instant::now(),
            sent: Arc::new(AtomicBool::new(false)),
        };
        let sent = passed.sent.clone();
        let out = DEADLINE
            .scope(passed, async { sending_final_statement() })
            .await;
        assert_eq!(out, Err(TIMEOUT));
        assert!(!sent.load(Ordering::Acquire), "nothing was marked as sent");
        assert_eq!(sending_final_statement(), Ok(LockWait::Unbounded));
    }
}

//! Spreading per-series work of one query over the cores.
//!
//! Evaluation runs on a blocking thread; the per-series loops that dominate
//! big queries (windows of range functions, instant selectors) are split
//! into one contiguous chunk per core with scoped threads when the work is
//! large enough to pay for them. Results keep the input order.

use std::time::Instant;

use super::QueryError;
use super::eval::Query;

/// How often (in items) a worker looks at the clock.
const DEADLINE_EVERY: usize = 64;

/// `items.iter().map(f)` in order, on up to one thread per core when
/// `work` (about one unit per sample or step visited) reaches the query's
/// `parallel_min_work` per thread — a thread costs tens of microseconds;
/// fails with a timeout once the query's deadline has passed.
pub(super) fn map<T, R, F>(items: &[T], work: usize, q: &Query, f: F) -> Result<Vec<R>, QueryError>
where
    T: Sync,
    R: Send,
    F: Fn(&T) -> R + Sync,
{
    let threads = crate::cores()
        .min(items.len())
        .min(work / q.parallel_min_work.max(1) + 1);
    let deadline = q.deadline;
    let run = |chunk: &[T]| -> Result<Vec<R>, QueryError> {
        let mut out = Vec::with_capacity(chunk.len());
        for (i, x) in chunk.iter().enumerate() {
            if i % DEADLINE_EVERY == DEADLINE_EVERY - 1 && Instant::now() > deadline {
                return Err(QueryError::Timeout("query execution"));
            }
            out.push(f(x));
        }
        Ok(out)
    };
    if threads <= 1 {
        return run(items);
    }
    let per = items.len().div_ceil(threads);
    let parts: Vec<Result<Vec<R>, QueryError>> = std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(per)
            .skip(1)
            .map(|c| s.spawn(move || run(c)))
            .collect();
        // The calling thread takes the first chunk itself.
        let mut parts = vec![run(&items[..per.min(items.len())])];
        parts.extend(handles.into_iter().map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(QueryError::Execution("query evaluation panicked".into())))
        }));
        parts
    });
    let mut out = Vec::with_capacity(items.len());
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn query(deadline: Instant) -> Query {
        Query {
            start: 0,
            end: 0,
            step: 0,
            instant: true,
            lookback: 0,
            max_samples: 0,
            parallel_min_work: 1_000,
            deadline,
        }
    }

    #[test]
    fn keeps_order_serial_and_parallel() {
        let items: Vec<u64> = (0..10_000).collect();
        let q = query(Instant::now() + Duration::from_secs(60));
        let small = map(&items, 10, &q, |x| x * 2).unwrap();
        let big = map(&items, usize::MAX, &q, |x| x * 2).unwrap();
        let want: Vec<u64> = items.iter().map(|x| x * 2).collect();
        assert_eq!(small, want);
        assert_eq!(big, want);
        assert!(
            map(&[] as &[u64], usize::MAX, &q, |x| *x)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_passed_deadline_stops_the_work() {
        let items: Vec<u64> = (0..1_000).collect();
        let q = query(Instant::now() - Duration::from_millis(1));
        for work in [0, usize::MAX] {
            let e = map(&items, work, &q, |x| *x).unwrap_err();
            assert!(matches!(e, QueryError::Timeout(_)), "{e:?}");
        }
    }
}

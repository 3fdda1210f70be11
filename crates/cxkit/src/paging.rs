//! List calls that page with `skip`/`limit`, as streams that fetch pages lazily.

use std::future::Future;

use futures::Stream;

use crate::Result;

/// Which page to fetch.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    /// Items to skip.
    pub skip: i64,
    /// Items to return at most.
    pub limit: i64,
}

/// Turns a `skip`/`limit` list call into a stream of items. The next page is fetched only when
/// the consumer has taken every item of the current one; the stream ends after a page shorter
/// than `page_size`, and stops at the first error (yielding it).
///
/// ```no_run
/// # async fn demo(ejento: cxkit::Ejento) -> cxkit::Result<()> {
/// use futures::TryStreamExt as _;
/// let comments: Vec<_> = cxkit::paginate(50, |page| {
///     let ejento = ejento.clone();
///     async move {
///         let answer = ejento.platform().list_agent_comments().agent_id(7)
///             .skip(page.skip).limit(page.limit).send().await?.into_inner();
///         Ok(answer.data.map(|d| d.comments).unwrap_or_default())
///     }
/// })
/// .try_collect()
/// .await?;
/// # let _ = comments; Ok(()) }
/// ```
pub fn paginate<T, F, Fut>(page_size: u32, fetch: F) -> impl Stream<Item = Result<T>>
where
    F: FnMut(Page) -> Fut,
    Fut: Future<Output = Result<Vec<T>>>,
{
    let limit = i64::from(page_size.max(1));
    let state = (fetch, Some(0i64), Vec::<T>::new().into_iter());
    futures::stream::unfold(
        state,
        move |(mut fetch, mut next_skip, mut items)| async move {
            loop {
                if let Some(item) = items.next() {
                    return Some((Ok(item), (fetch, next_skip, items)));
                }
                let skip = next_skip?;
                match fetch(Page { skip, limit }).await {
                    Ok(page) => {
                        let got = page.len() as i64;
                        next_skip = (got >= limit).then_some(skip + got);
                        items = page.into_iter();
                        if got == 0 {
                            return None;
                        }
                    }
                    Err(e) => return Some((Err(e), (fetch, None, Vec::new().into_iter()))),
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::StreamExt as _;

    use super::*;

    #[tokio::test]
    async fn pages_are_fetched_lazily_until_a_short_page() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let stream = paginate(3, move |page| {
            c.fetch_add(1, Ordering::SeqCst);
            async move { Ok((page.skip..(page.skip + page.limit).min(7)).collect::<Vec<_>>()) }
        });
        futures::pin_mut!(stream);
        assert_eq!(stream.next().await.unwrap().unwrap(), 0);
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "only the first page is fetched"
        );
        let rest: Vec<i64> = stream.map(|r| r.unwrap()).collect().await;
        assert_eq!(rest, vec![1, 2, 3, 4, 5, 6]);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn an_error_ends_the_stream_after_being_yielded() {
        let stream = paginate(2, |page| async move {
            if page.skip == 0 {
                Ok(vec![1, 2])
            } else {
                Err(crate::Error::config("boom"))
            }
        });
        let all: Vec<_> = stream.collect().await;
        assert_eq!(all.len(), 3);
        assert!(all[2].is_err());
    }
}

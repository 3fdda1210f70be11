//! List calls as streams that fetch pages lazily, for both ways Ejento pages:
//!
//! - [`paginate_pages`]: the platform's lists, which take `page` (1-based) / `items_per_page` /
//!   `paginated=true` and report `data.meta {count, num_pages, current_page}`
//!   ([`PageMeta`], `#/components/schemas/PageMeta` in `specs/ejento-platform.yaml`);
//! - [`paginate`]: the older users API's `skip`/`limit` lists, which report nothing and end with
//!   a short page.
//!
//! Both fetch the next page only when the consumer has taken every item of the current one,
//! stop at the last page, and end after yielding the first error.

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

/// The paging metadata of an Ejento list answer (`data.meta`), as generated from the spec.
#[cfg(feature = "ejento")]
pub use cxkit_ejento_platform::types::PageMeta;

/// Which page to fetch from a `page` / `items_per_page` list.
#[cfg(feature = "ejento")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The page number, 1-based (the vendor's `page`).
    pub page: i64,
    /// The page size (the vendor's `items_per_page`).
    pub items_per_page: i64,
}

/// Turns a `page` / `items_per_page` list call (send `paginated=true` too) into a stream of
/// items. `fetch` returns one page's items and the answer's `data.meta`. The next page is
/// fetched only when the consumer has taken every item of the current one; the stream ends
/// after page `num_pages` (or, when the answer has no `meta`, after a page shorter than
/// `items_per_page` or an empty one), and ends after yielding the first error.
///
/// ```no_run
/// # async fn demo(ejento: cxkit::Ejento) -> cxkit::Result<()> {
/// use futures::TryStreamExt as _;
/// let threads: Vec<_> = cxkit::paginate_pages(50, |page| {
///     let ejento = ejento.clone();
///     async move {
///         let answer = ejento.platform().list_agent_chat_threads().agent_id(7)
///             .paginated(true).page(page.page).items_per_page(page.items_per_page)
///             .send().await?.into_inner();
///         let data = answer.data.unwrap_or_default();
///         Ok((data.chat_threads, data.meta))
///     }
/// })
/// .try_collect()
/// .await?;
/// # let _ = threads; Ok(()) }
/// ```
#[cfg(feature = "ejento")]
pub fn paginate_pages<T, F, Fut>(items_per_page: u32, fetch: F) -> impl Stream<Item = Result<T>>
where
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, Option<PageMeta>)>>,
{
    let items_per_page = i64::from(items_per_page.max(1));
    let state = (fetch, Some(1i64), Vec::<T>::new().into_iter());
    futures::stream::unfold(
        state,
        move |(mut fetch, mut next_page, mut items)| async move {
            loop {
                if let Some(item) = items.next() {
                    return Some((Ok(item), (fetch, next_page, items)));
                }
                let page = next_page?;
                match fetch(PageRequest {
                    page,
                    items_per_page,
                })
                .await
                {
                    Ok((got, meta)) => {
                        let current = meta.as_ref().and_then(|m| m.current_page).unwrap_or(page);
                        let more = match meta.as_ref().and_then(|m| m.num_pages) {
                            Some(num_pages) => current < num_pages,
                            None => got.len() as i64 >= items_per_page,
                        };
                        // An empty page ends the list whatever `meta` says, so a server that
                        // miscounts cannot make the stream spin.
                        next_page = (more && !got.is_empty()).then_some(current + 1);
                        items = got.into_iter();
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
        let mut stream = std::pin::pin!(stream);
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

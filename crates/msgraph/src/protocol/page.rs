//! Collection pages, and the two state machines that walk them: [`Pager`] follows
//! `@odata.nextLink` verbatim to the end of a list; [`DeltaRound`] does the same for a delta
//! query and ends with the `@odata.deltaLink` that starts the next round. Neither does I/O: the
//! caller sends the URL they hand out and feeds back the page it got.
//!
//! Both refuse to be walked forever by a broken or hostile endpoint: a link that repeats an
//! earlier one of the same read is an error, and so is a read longer than any tenant can be
//! ([`MAX_PAGES`], [`MAX_ITEMS`]).

use std::collections::HashSet;

use serde_json::Value;

/// The most pages one read follows. Graph's pages hold up to 999 directory objects and delta
/// pages usually far fewer; 200,000 pages of 25 are the [`MAX_ITEMS`] objects.
pub const MAX_PAGES: u64 = 200_000;

/// The most objects one read returns: ten times Entra's default directory quota with a
/// verified domain (300,000 objects) and more than the largest tenants Microsoft raises it
/// for. A server that sends more is not a tenant, and would exhaust memory.
pub const MAX_ITEMS: u64 = 5_000_000;

/// Why a page could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageError {
    /// The body is not JSON.
    #[error("the page is not JSON: {0}")]
    NotJson(String),
    /// The body is JSON but has no `value` array.
    #[error("the page has no 'value' array")]
    NoValue,
    /// A delta page ended with neither a next link nor a delta link.
    #[error("the delta page carries neither @odata.nextLink nor @odata.deltaLink")]
    DeltaWithoutLink,
    /// A next link repeats one this read already followed: the server is going round in
    /// circles, and following it would never end.
    #[error("the next link repeats one already followed ({0}); the server is looping")]
    RepeatedLink(String),
    /// The read went on for longer than any tenant can be.
    #[error(
        "the read passed {pages} pages and {items} objects, more than any tenant holds (at most {MAX_PAGES} pages or {MAX_ITEMS} objects)"
    )]
    TooLong {
        /// Pages read.
        pages: u64,
        /// Objects read.
        items: u64,
    },
}

/// What every walk of links keeps: the links followed and the size so far.
#[derive(Debug, Clone, Default)]
struct Walked {
    links: HashSet<String>,
    pages: u64,
    items: u64,
}

impl Walked {
    /// Counts a page of `items` objects whose next link is `next`.
    fn step(&mut self, items: usize, next: Option<&str>) -> Result<(), PageError> {
        self.pages += 1;
        self.items += items as u64;
        if self.pages > MAX_PAGES || self.items > MAX_ITEMS {
            return Err(PageError::TooLong { pages: self.pages, items: self.items });
        }
        match next {
            Some(link) if !self.links.insert(link.to_string()) => {
                Err(PageError::RepeatedLink(link.to_string()))
            }
            _ => Ok(()),
        }
    }
}

/// One page of a collection.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The objects on the page.
    pub items: Vec<Value>,
    /// The URL of the next page.
    pub next_link: Option<String>,
    /// The URL that starts the next delta round (last page of a delta round only).
    pub delta_link: Option<String>,
    /// `@odata.count`, on the first page when asked for.
    pub count: Option<u64>,
}

impl Page {
    /// Parses a collection response body.
    pub fn parse(body: &[u8]) -> Result<Page, PageError> {
        let v: Value =
            serde_json::from_slice(body).map_err(|e| PageError::NotJson(e.to_string()))?;
        let Value::Object(mut m) = v else {
            return Err(PageError::NoValue);
        };
        let Some(Value::Array(items)) = m.remove("value") else {
            return Err(PageError::NoValue);
        };
        let link = |m: &serde_json::Map<String, Value>, k: &str| {
            m.get(k).and_then(Value::as_str).map(str::to_string)
        };
        Ok(Page {
            next_link: link(&m, "@odata.nextLink"),
            delta_link: link(&m, "@odata.deltaLink"),
            count: m.get("@odata.count").and_then(Value::as_u64),
            items,
        })
    }
}

/// Walks a list: `next()` gives the URL to fetch, `feed()` takes the page that came back.
#[derive(Debug, Clone)]
pub struct Pager {
    next: Option<String>,
    walked: Walked,
}

impl Pager {
    /// Starts at the first page's URL.
    pub fn new(first: impl Into<String>) -> Pager {
        let first = first.into();
        let mut walked = Walked::default();
        walked.links.insert(first.clone());
        Pager { next: Some(first), walked }
    }

    /// The URL to fetch next, or `None` when the list is done.
    pub fn next(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// Takes a page and returns its items; a looping or endless list is an error.
    pub fn feed(&mut self, page: Page) -> Result<Vec<Value>, PageError> {
        self.next = None;
        self.walked.step(page.items.len(), page.next_link.as_deref())?;
        self.next = page.next_link;
        Ok(page.items)
    }

    /// Pages seen so far.
    pub fn pages(&self) -> u64 {
        self.walked.pages
    }
}

/// One round of a delta query, from a start URL (the bare `…/delta` for a full sync, or the
/// delta link of the previous round) to the delta link of the next round.
#[derive(Debug, Clone)]
pub struct DeltaRound {
    next: Option<String>,
    delta_link: Option<String>,
    walked: Walked,
}

/// A change reported by a delta round.
#[derive(Debug, Clone, PartialEq)]
pub enum DeltaItem {
    /// The object as it is now (complete on a full sync; at least the changed properties on an
    /// incremental one).
    Upsert(Value),
    /// The object was removed: `soft` when it sits in the recycle bin (`reason: changed`).
    Removed {
        /// The object id.
        id: String,
        /// In the recycle bin rather than gone.
        soft: bool,
    },
}

impl DeltaRound {
    /// Starts a round.
    pub fn new(start: impl Into<String>) -> DeltaRound {
        let start = start.into();
        let mut walked = Walked::default();
        walked.links.insert(start.clone());
        DeltaRound { next: Some(start), delta_link: None, walked }
    }

    /// The URL to fetch next, or `None` when the round is complete.
    pub fn next(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// Takes a page; returns its changes.
    pub fn feed(&mut self, page: Page) -> Result<Vec<DeltaItem>, PageError> {
        self.next = None;
        self.walked.step(page.items.len(), page.next_link.as_deref())?;
        match (page.next_link, page.delta_link) {
            (Some(n), _) => self.next = Some(n),
            (None, Some(d)) => {
                self.next = None;
                self.delta_link = Some(d);
            }
            (None, None) => return Err(PageError::DeltaWithoutLink),
        }
        Ok(page.items.into_iter().map(classify).collect())
    }

    /// The link that starts the next round, once this one is complete.
    pub fn delta_link(&self) -> Option<&str> {
        self.delta_link.as_deref()
    }

    /// Pages seen so far.
    pub fn pages(&self) -> u64 {
        self.walked.pages
    }
}

fn classify(item: Value) -> DeltaItem {
    match item.get("@removed") {
        Some(removed) => DeltaItem::Removed {
            id: item.get("id").and_then(Value::as_str).unwrap_or_default().to_string(),
            soft: removed.get("reason").and_then(Value::as_str) == Some("changed"),
        },
        None => DeltaItem::Upsert(item),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(v: &Value) -> Page {
        Page::parse(v.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn the_pager_follows_next_links_verbatim() {
        let mut p = Pager::new("https://graph.microsoft.com/v1.0/users?$top=999");
        let first = json!({"@odata.context": "x", "@odata.count": 3, "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=abc", "value": [{"id": "1"}, {"id": "2"}]});
        let items = p.feed(page(&first)).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(
            p.next(),
            Some("https://graph.microsoft.com/v1.0/users?$top=999&$skiptoken=abc")
        );
        assert_eq!(p.feed(page(&json!({"value": [{"id": "3"}]}))).unwrap().len(), 1);
        assert_eq!((p.next(), p.pages()), (None, 2));
        assert_eq!(page(&first).count, Some(3));
    }

    #[test]
    fn a_delta_round_ends_with_its_delta_link_and_reports_removals() {
        let mut r = DeltaRound::new("https://graph.microsoft.com/v1.0/groups/delta");
        let a = r.feed(page(&json!({"@odata.nextLink": "n1", "value": [{"id": "g1", "displayName": "A", "members@delta": [{"id": "u1"}]}]}))).unwrap();
        assert!(matches!(&a[0], DeltaItem::Upsert(v) if v["members@delta"][0]["id"] == "u1"));
        assert_eq!(r.next(), Some("n1"));
        let b = r.feed(page(&json!({"@odata.deltaLink": "d1", "value": [
            {"id": "g2", "@removed": {"reason": "changed"}}, {"id": "g3", "@removed": {"reason": "deleted"}}]}))).unwrap();
        assert_eq!(
            b,
            vec![
                DeltaItem::Removed { id: "g2".into(), soft: true },
                DeltaItem::Removed { id: "g3".into(), soft: false }
            ]
        );
        assert_eq!((r.next(), r.delta_link()), (None, Some("d1")));
        assert_eq!(
            DeltaRound::new("x").feed(page(&json!({"value": []}))),
            Err(PageError::DeltaWithoutLink)
        );
    }

    #[test]
    fn a_link_that_comes_round_again_ends_the_read() {
        let mut p = Pager::new("https://g/v1.0/users");
        let to = |n: &str| page(&json!({"@odata.nextLink": n, "value": [{"id": "1"}]}));
        p.feed(to("https://g/v1.0/users?$skiptoken=a")).unwrap();
        p.feed(to("https://g/v1.0/users?$skiptoken=b")).unwrap();
        assert_eq!(
            p.feed(to("https://g/v1.0/users?$skiptoken=a")),
            Err(PageError::RepeatedLink("https://g/v1.0/users?$skiptoken=a".into()))
        );
        assert_eq!(p.next(), None, "nothing more to fetch");
        let mut r = DeltaRound::new("https://g/v1.0/groups/delta");
        assert!(matches!(
            r.feed(to("https://g/v1.0/groups/delta")),
            Err(PageError::RepeatedLink(_))
        ));
    }

    #[test]
    fn a_read_longer_than_any_tenant_ends() {
        let mut p = Pager::new("start");
        let mut n = 0u64;
        let err = loop {
            n += 1;
            let next = format!("next-{n}");
            match p.feed(page(&json!({"@odata.nextLink": next, "value": []}))) {
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(err, PageError::TooLong { pages: MAX_PAGES + 1, items: 0 });
        let mut r = DeltaRound::new("start");
        let big: Vec<Value> = (0..=MAX_ITEMS).map(|_| Value::Null).collect();
        let huge = Page { items: big, next_link: Some("n".into()), delta_link: None, count: None };
        assert!(matches!(r.feed(huge), Err(PageError::TooLong { .. })));
    }

    #[test]
    fn malformed_pages_are_errors() {
        assert!(matches!(Page::parse(b"<html>"), Err(PageError::NotJson(_))));
        assert_eq!(Page::parse(b"{\"values\": []}"), Err(PageError::NoValue));
    }
}

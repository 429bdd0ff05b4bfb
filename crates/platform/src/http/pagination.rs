//! Cursor pagination. A cursor is the opaque (base64url) id of the last item of the page;
//! ids are UUIDv7, so "after this id" is "created after", and a page never skips or repeats
//! rows when others are inserted meanwhile.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::Problem;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 200;

#[derive(Debug, Clone, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page, 1–200 (default 50).
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
pub struct Cursor {
    pub after: Option<Uuid>,
    pub limit: u32,
}

impl PageQuery {
    pub fn cursor(&self) -> Result<Cursor, Problem> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(Problem::invalid_field(
                "limit",
                format!("must be between 1 and {MAX_LIMIT}"),
            ));
        }
        let after = match &self.cursor {
            None => None,
            Some(text) => Some(decode(text).ok_or_else(|| {
                Problem::invalid_field("cursor", "is not a cursor this API issued")
            })?),
        };
        Ok(Cursor { after, limit })
    }
}

fn decode(text: &str) -> Option<Uuid> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    Uuid::from_slice(&bytes).ok()
}

pub fn encode(id: Uuid) -> String {
    URL_SAFE_NO_PAD.encode(id.as_bytes())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `fetched` holds up to `limit + 1` rows; the extra one only says another page exists.
    pub fn from_rows(mut fetched: Vec<T>, cursor: Cursor, id_of: impl Fn(&T) -> Uuid) -> Self {
        let more = fetched.len() > cursor.limit as usize;
        fetched.truncate(cursor.limit as usize);
        let next_cursor = if more {
            fetched.last().map(|t| encode(id_of(t)))
        } else {
            None
        };
        Page {
            items: fetched,
            next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn cursors_round_trip(bytes in proptest::array::uniform16(any::<u8>())) {
            let id = Uuid::from_bytes(bytes);
            prop_assert_eq!(decode(&encode(id)), Some(id));
        }

        #[test]
        fn garbage_cursors_are_refused_not_panicked(text in ".{0,40}") {
            let q = PageQuery { cursor: Some(text), limit: None };
            let _ = q.cursor();
        }
    }

    #[test]
    fn limit_out_of_range_is_a_validation_problem() {
        let q = PageQuery {
            cursor: None,
            limit: Some(0),
        };
        assert_eq!(q.cursor().unwrap_err().status, 422);
    }
}

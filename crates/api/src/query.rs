//! Query strings with typed getters: a value that is not a number is 400 (malformed), a
//! number outside the allowed range is 422 (understood but unusable), and the detail
//! names the parameter and the limit.

use crate::ApiError;

/// A parsed `application/x-www-form-urlencoded` query string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

/// Longest numeric parameter accepted (`u64::MAX` has 20 digits).
const MAX_DIGITS: usize = 20;

impl Query {
    /// Parses `query` (without the leading `?`; an empty string is an empty query).
    pub fn parse(query: &str) -> Result<Self, ApiError> {
        let query = query.strip_prefix('?').unwrap_or(query);
        let pairs = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        Ok(Query { pairs })
    }

    /// The value of `name`; a parameter given twice is 400 (which one would win is
    /// ambiguous).
    pub fn get(&self, name: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self.pairs.iter().filter(|(k, _)| k == name);
        let first = values.next().map(|(_, v)| v.as_str());
        if values.next().is_some() {
            return Err(ApiError::BadRequest(format!(
                "query parameter `{name}` is given more than once"
            )));
        }
        Ok(first)
    }

    /// An integer parameter in `1..=max`, `default` when absent.
    pub fn bounded(&self, name: &str, default: u64, max: u64) -> Result<u64, ApiError> {
        let Some(raw) = self.get(name)? else {
            return Ok(default);
        };
        let value = parse_number(name, raw)?;
        if value == 0 || value > max {
            return Err(ApiError::Unprocessable(format!(
                "query parameter `{name}` is {value}; it must be between 1 and {max}"
            )));
        }
        Ok(value)
    }

    /// `size` of a thumbnail: 1..=`max` (`max_thumbnail_size`), default `default`.
    pub fn size(&self, default: u32, max: u32) -> Result<u32, ApiError> {
        let size = self.bounded("size", u64::from(default), u64::from(max))?;
        Ok(u32::try_from(size).expect("bounded by a u32"))
    }

    /// `k` of a similarity search: 1..=`max` (`max_similar_k`), default `default`.
    pub fn k(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        self.bounded_usize("k", default, max)
    }

    /// `limit` of a listing page: 1..=`max`, default `default`.
    pub fn limit(&self, default: usize, max: usize) -> Result<usize, ApiError> {
        self.bounded_usize("limit", default, max)
    }

    /// The listing `cursor`, `None` when absent or empty (validated by the store).
    pub fn cursor(&self) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == "cursor")
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    fn bounded_usize(&self, name: &str, default: usize, max: usize) -> Result<usize, ApiError> {
        let value = self.bounded(name, default as u64, max as u64)?;
        Ok(usize::try_from(value).expect("bounded by a usize"))
    }
}

fn parse_number(name: &str, raw: &str) -> Result<u64, ApiError> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::BadRequest(format!(
            "query parameter `{name}` must be a positive integer, not {raw:?}"
        )));
    }
    let digits = raw.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    match digits.len() <= MAX_DIGITS {
        true => digits.parse::<u64>().ok(),
        false => None,
    }
    .ok_or_else(|| ApiError::Unprocessable(format!("query parameter `{name}` is far too large")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status<T: std::fmt::Debug>(r: Result<T, ApiError>) -> u16 {
        r.unwrap_err().status()
    }

    #[test]
    fn defaults_and_values() {
        let q = Query::parse("").unwrap();
        assert_eq!(q.size(128, 1024).unwrap(), 128);
        assert_eq!(q.k(10, 100).unwrap(), 10);
        assert_eq!(q.cursor(), None);
        let q = Query::parse("?size=64&k=007&limit=200&cursor=abc%2Fd").unwrap();
        assert_eq!(q.size(128, 1024).unwrap(), 64);
        assert_eq!(q.k(10, 100).unwrap(), 7);
        assert_eq!(q.limit(50, 200).unwrap(), 200);
        assert_eq!(q.cursor(), Some("abc/d"));
    }

    #[test]
    fn malformed_is_400_out_of_range_is_422() {
        for bad in [
            "size=",
            "size=abc",
            "size=-1",
            "size=+5",
            "size=1.5",
            "size=%20",
            "size=1&size=2",
        ] {
            assert_eq!(
                status(Query::parse(bad).unwrap().size(128, 1024)),
                400,
                "{bad}"
            );
        }
        for bad in [
            "size=0",
            "size=1025",
            "size=99999999999999999999",
            "size=999999999999999999999999",
        ] {
            assert_eq!(
                status(Query::parse(bad).unwrap().size(128, 1024)),
                422,
                "{bad}"
            );
        }
        let detail = Query::parse("k=101")
            .unwrap()
            .k(10, 100)
            .unwrap_err()
            .problem()
            .detail;
        assert!(detail.contains("100"), "{detail}");
    }
}

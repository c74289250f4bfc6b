//! A child's OCARIoT id: a 24-character hexadecimal MongoDB ObjectId, checked as the original did.

use mongodb::bson::oid::ObjectId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChildId(ObjectId);

/// The original's ObjectId validation error.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("Some ID provided does not have a valid format!")]
pub struct InvalidId;

impl InvalidId {
    pub const DESCRIPTION: &'static str = "A 24-byte hex ID similar to this: 507f191e810c19729de860ea is expected.";
}

impl ChildId {
    pub fn parse(value: &str) -> Result<Self, InvalidId> {
        if value.len() != 24 || !value.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(InvalidId);
        }
        ObjectId::parse_str(value).map(ChildId).map_err(|_| InvalidId)
    }

    pub fn object_id(&self) -> ObjectId {
        self.0
    }
}

impl From<ObjectId> for ChildId {
    fn from(id: ObjectId) -> Self {
        ChildId(id)
    }
}

impl std::fmt::Display for ChildId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_24_hex_characters_in_any_case() {
        assert_eq!(ChildId::parse("5D7A4A95C292DB05E4F765A8").unwrap().to_string(), "5d7a4a95c292db05e4f765a8");
        assert!(ChildId::parse(&ObjectId::new().to_hex()).is_ok());
    }

    #[test]
    fn rejects_anything_else() {
        for bad in ["123", "", "5d7a4a95c292db05e4f765a", "5d7a4a95c292db05e4f765a8a", "zd7a4a95c292db05e4f765a8"] {
            assert_eq!(ChildId::parse(bad), Err(InvalidId), "{bad}");
        }
        assert_eq!(InvalidId.to_string(), "Some ID provided does not have a valid format!");
    }
}

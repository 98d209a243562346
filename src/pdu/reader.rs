//! A bounds-checked cursor over PDU octets: every read returns `PduError::Malformed` instead of
//! panicking when the PDU ends early. Knows nothing about field meanings.

use super::PduError;

pub struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, pos: 0 }
    }

    /// Octets consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn octet(&mut self, field: &'static str) -> Result<u8, PduError> {
        let b = *self.bytes.get(self.pos).ok_or(PduError::Malformed(field))?;
        self.pos += 1;
        Ok(b)
    }

    pub fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], PduError> {
        let end = self.pos.checked_add(n).ok_or(PduError::Malformed(field))?;
        let s = self
            .bytes
            .get(self.pos..end)
            .ok_or(PduError::Malformed(field))?;
        self.pos = end;
        Ok(s)
    }
}

impl Reader<'_> {
    /// The next octet, for optional fields: `None` at the end.
    pub fn optional_octet(&mut self) -> Option<u8> {
        let b = self.peek()?;
        self.pos += 1;
        Some(b)
    }

    /// The next octet without consuming it.
    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
}

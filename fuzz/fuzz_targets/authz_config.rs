//! The SPIFFE-mode authorization document parser: never panics, and what it
//! accepts renders to a canonical text that parses back to the same document.
#![no_main]

use libfuzzer_sys::fuzz_target;
use warden_core::identity::spiffe_authz::AuthzDocument;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = warden_core::identity::conf::parse(text);
    if let Ok(doc) = AuthzDocument::parse(text) {
        let rendered = doc.render();
        let back = AuthzDocument::parse(&rendered).expect("a rendering parses");
        assert_eq!(back.render(), rendered);
    }
});

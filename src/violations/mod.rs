//! Live authorization violations: parsing, attribution, bounded aggregation.

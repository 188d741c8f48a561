//! Real Pinot cluster: see the module docs once written.

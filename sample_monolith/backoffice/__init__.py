"""Back office: staff pages and reports that read across every domain."""

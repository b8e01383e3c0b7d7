"""Master spec -> slices: plan the spec, then write each slice's files, keeping every downstream edit."""

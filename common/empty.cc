// Placeholder translation unit so a module library can be configured before it has sources.

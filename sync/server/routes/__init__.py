"""HTTP routes, versioned under /v1: validate, authorise, call crud."""

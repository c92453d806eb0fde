// Shared by the server (which marks the error) and the error pages (which recognise
// it): an error that reaches a page because the database is unreachable carries this
// digest, which Next passes to error boundaries as it is, in production too.
export const DATABASE_UNAVAILABLE_DIGEST = "MESHIA_DATABASE_UNAVAILABLE";
export const DATABASE_UNAVAILABLE_TEXT = "Meshia cannot reach its database right now.";

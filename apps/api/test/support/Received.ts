/** Every raw body the tests received, raw or through the typed client, so the leak test can search all of them. */
export const receivedBodies: Array<string> = []
/** Every response's headers, as JSON, for the same search. */
export const receivedHeaders: Array<string> = []

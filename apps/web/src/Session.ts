// Local sign-in: the bearer token and the chosen workspace live in sessionStorage only (gone with the tab).
import { WorkspaceId } from "@findry/domain"
import { Option, Schema } from "effect"

const KEY = "findry.session"

const Session = Schema.Struct({ token: Schema.String, workspaceId: WorkspaceId })
export type Session = typeof Session.Type

const decode = Schema.decodeUnknownOption(Schema.parseJson(Session))
const encode = Schema.encodeSync(Schema.parseJson(Session))

export const loadSession = (): Session | null => Option.getOrNull(decode(sessionStorage.getItem(KEY)))

export const saveSession = (session: Session): void => sessionStorage.setItem(KEY, encode(session))

export const clearSession = (): void => sessionStorage.removeItem(KEY)

// synk.js as tsc infers it (copied to .impl/ by `make lint`, so that
// synk.d.ts does not stand in for it) must give what synk.d.ts declares:
// every class member and function, with compatible shapes.
import * as impl from "./.impl/synk.js";
import type * as decl from "../static/synk.js";

type Instance<C> = C extends abstract new (...args: any) => infer T ? T : never;
declare const conn: Instance<typeof impl.Conn>;
declare const room: Instance<typeof impl.Room>;

export const conns: decl.Conn = conn;
export const rooms: decl.Room = room;
export const functions: Pick<typeof decl, "load" | "defaultURL" | "connect" | "join"> = impl;

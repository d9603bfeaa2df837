/**
 * Places: `GET /places/microsoft.graph.room` (100 per page, @odata.nextLink), room lists
 * `GET /places/microsoft.graph.roomlist` and `GET /places/{listEmail}/microsoft.graph.roomlist/rooms`.
 */
import type { EmuRequest, EmuResponse } from '../types';
import { GraphHttpError } from './errors';
import { parseQuery } from './odata';
import type { GraphStore, Json, Room } from './store';

export const PLACES_PAGE = 100;

function renderRoom(r: Room): Json {
  return {
    '@odata.type': '#microsoft.graph.room',
    id: r.id,
    emailAddress: r.emailAddress,
    displayName: r.displayName,
    address: null,
    geoCoordinates: null,
    phone: null,
    nickname: r.displayName,
    building: r.building ?? null,
    floorNumber: r.floorNumber ?? null,
    floorLabel: null,
    label: null,
    capacity: r.capacity ?? null,
    bookingType: r.bookingType ?? 'standard',
    audioDeviceName: null,
    videoDeviceName: null,
    displayDeviceName: null,
    isWheelChairAccessible: r.isWheelChairAccessible ?? false,
    tags: r.tags ?? [],
  };
}

function page(req: EmuRequest, baseUrl: string, path: string, all: Json[], context: string): EmuResponse {
  const q = parseQuery(req.query, ['$top', '$skip', '$select']);
  const size = Math.min(q.top ?? PLACES_PAGE, PLACES_PAGE);
  const skip = q.skip ?? 0;
  let value = all.slice(skip, skip + size);
  if (q.select) {
    const keep = new Set(['@odata.type', 'id', ...q.select]);
    value = value.map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => keep.has(k))));
  }
  const body: Json = { '@odata.context': `${baseUrl}/v1.0/$metadata#${context}`, value };
  if (skip + size < all.length) {
    const params = new URLSearchParams(req.query);
    params.set('$skip', String(skip + size));
    body['@odata.nextLink'] = `${baseUrl}/v1.0${path}?${params}`;
  }
  return { status: 200, headers: { 'content-type': 'application/json' }, body };
}

export function listRooms(store: GraphStore, req: EmuRequest, baseUrl: string): EmuResponse {
  const rooms = [...store.rooms.values()].sort((a, b) => a.emailAddress.localeCompare(b.emailAddress)).map(renderRoom);
  return page(req, baseUrl, '/places/microsoft.graph.room', rooms, 'places/microsoft.graph.room');
}

export function listRoomLists(store: GraphStore, req: EmuRequest, baseUrl: string): EmuResponse {
  const lists = [...store.roomLists.values()].map((l) => ({
    '@odata.type': '#microsoft.graph.roomList', id: l.id, displayName: l.displayName, emailAddress: l.emailAddress,
    address: null, geoCoordinates: null, phone: null,
  }));
  return page(req, baseUrl, '/places/microsoft.graph.roomlist', lists, 'places/microsoft.graph.roomList');
}

export function listRoomsOfList(store: GraphStore, req: EmuRequest, baseUrl: string, listKey: string): EmuResponse {
  const list = store.roomLists.get(listKey.toLowerCase()) ?? [...store.roomLists.values()].find((l) => l.id === listKey);
  if (!list) throw new GraphHttpError(404, 'ErrorItemNotFound', `The room list '${listKey}' was not found.`);
  const rooms = list.rooms.map((e) => store.rooms.get(e)).filter((r): r is Room => !!r).map(renderRoom);
  return page(req, baseUrl, `/places/${encodeURIComponent(listKey)}/microsoft.graph.roomlist/rooms`, rooms, `places('${listKey}')/microsoft.graph.roomList/rooms`);
}

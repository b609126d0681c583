/**
 * @livepanel/react-native: `init({ apiUrl, clientId })` once (outside components), then
 * `track()`, `identify()`… ; `trackNavigation(lp, navigationRef)` for React Navigation screen
 * views. Persistence in AsyncStorage, the socket follows AppState (client.ts).
 */

import type { LivepanelOptions, SocketLike } from '@livepanel/core';
import AsyncStorage from '@react-native-async-storage/async-storage';
import { AppState } from 'react-native';
import { createNativeClient, type NativeClient } from './client.ts';

export type { EventBody, IdentifyPayload, LivepanelOptions, Properties } from '@livepanel/core';
export { createNativeClient, LivepanelNative, type NativeClient, type NavigationRefLike, trackNavigation } from './client.ts';

export function init(options: LivepanelOptions): NativeClient {
  return createNativeClient(options, {
    storage: AsyncStorage,
    appState: AppState,
    socket: (url) => new WebSocket(url) as unknown as SocketLike,
    fetch,
  });
}

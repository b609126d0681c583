// What index.ts uses of React Native and AsyncStorage. Both are peers of the published package
// and not installed in this repository (React Native would pull a whole toolchain into it);
// in an app, their own types take over.
declare module 'react-native' {
  export const AppState: import('./client.ts').AppStateLike;
}
declare module '@react-native-async-storage/async-storage' {
  const AsyncStorage: import('./client.ts').AsyncStorageLike;
  export default AsyncStorage;
}

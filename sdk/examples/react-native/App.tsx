/**
 * A React Native app with @livepanel/react-native (copy into an app created with
 * `npx create-expo-app` or `npx @react-native-community/cli init`, then
 * `npm install @livepanel/react-native @react-native-async-storage/async-storage @react-navigation/native @react-navigation/native-stack`).
 * On a device, apiUrl must be reachable from it (not localhost) and the project must allow
 * the client (native apps send no Origin: use a client with the `*` origin).
 */
import { init, trackNavigation } from '@livepanel/react-native';
import { createNavigationContainerRef, NavigationContainer } from '@react-navigation/native';
import { createNativeStackNavigator } from '@react-navigation/native-stack';
import { Button, Text, View } from 'react-native';

export const lp = init({ apiUrl: 'https://livepanel.example.com', clientId: 'YOUR_CLIENT_ID' });
const navigation = createNavigationContainerRef();
const Stack = createNativeStackNavigator();

function Home({ navigation: nav }: { navigation: { navigate(screen: string): void } }) {
  return (
    <View>
      <Text>Home</Text>
      <Button title="Sign up" onPress={() => lp.track('signup', { plan: 'pro' })} />
      <Button title="Settings" onPress={() => nav.navigate('Settings')} />
    </View>
  );
}

function Settings() {
  return (
    <View>
      <Text>Settings</Text>
      <Button title="Log out" onPress={() => lp.reset()} />
    </View>
  );
}

export default function App() {
  return (
    <NavigationContainer ref={navigation} onReady={() => trackNavigation(lp, navigation)}>
      <Stack.Navigator>
        <Stack.Screen name="Home" component={Home} />
        <Stack.Screen name="Settings" component={Settings} />
      </Stack.Navigator>
    </NavigationContainer>
  );
}

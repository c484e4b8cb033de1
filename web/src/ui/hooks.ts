// Preact glue: re-render when a Store changes.

import { useEffect, useState } from "preact/hooks";
import type { Store } from "../weir/store";

export function useStore<T>(store: Store<T>): T {
  const [value, setValue] = useState(store.get());
  useEffect(() => {
    setValue(store.get());
    return store.subscribe(setValue);
  }, [store]);
  return value;
}

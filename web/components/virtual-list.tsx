/**
 * A windowed list: only the rows in view (plus `overscan`) are in the DOM, so 10,000 rows cost as
 * much as 50. Rows have a fixed height unless they grow (an expanded event): such rows are measured
 * and the rest of the list moves down. Optionally follows the end, like a log, until the user
 * scrolls up.
 */
import {
  type CSSProperties,
  type ReactNode,
  useCallback,
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
} from "react";

export interface VirtualRow {
  readonly index: number;
  /** `keyOf(index)`: put it on the row's `<li>` as `data-row-key`, so a grown row is measured. */
  readonly rowKey: number;
  /** Offset of the row from the top of the list, in px: give it to `rowStyle`. */
  readonly top: number;
  /** Attach to the row's `<li>` (with `data-row-key`) so a grown row is measured. */
  readonly measureRef: (element: HTMLElement | null) => void;
}

export interface VirtualListProps {
  readonly count: number;
  /** Height of a row that has not grown, in px (the row's CSS must match). */
  readonly rowHeight: number;
  /** A stable key per row (rows keep their measured height when older rows are removed). */
  readonly keyOf: (index: number) => number;
  /** The row with this key, if present (the inverse of `keyOf`). */
  readonly indexOf: (key: number) => number | undefined;
  readonly renderRow: (row: VirtualRow) => ReactNode;
  /** The scroller never grows beyond this, in px. */
  readonly maxHeight: number;
  /** Accessible name of the scrolling region. */
  readonly label: string;
  /** Stick to the end as rows are added, until the user scrolls away from it. @default false */
  readonly followEnd?: boolean;
  /** Scrolls the row with this key into view whenever `nonce` changes. */
  readonly reveal?: { readonly key: number; readonly nonce: number } | null;
  readonly overscan?: number;
  readonly className?: string;
  /** Told when following the end starts or stops (the user scrolled away, or back to the end). */
  readonly onFollowChange?: (following: boolean) => void;
  /** Call with a function that scrolls to the end; lets the parent offer "jump to latest". */
  readonly scrollToEndRef?: (scrollToEnd: () => void) => void;
}

const SETTLE_PX = 4;

export function VirtualList(props: VirtualListProps) {
  const { count, rowHeight, keyOf, indexOf, maxHeight, overscan = 12, followEnd = false } = props;
  const scroller = useRef<HTMLDivElement | null>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [viewport, setViewport] = useState(maxHeight);
  const [grown, setGrown] = useState<ReadonlyMap<number, number>>(() => new Map());
  const following = useRef(followEnd);

  // Grown rows as [index, height], ascending by index, for the offset arithmetic.
  const tall = useMemo(() => {
    const rows: [number, number][] = [];
    for (const [key, height] of grown) {
      const index = indexOf(key);
      if (index !== undefined) rows.push([index, height]);
    }
    return rows.sort((a, b) => a[0] - b[0]);
  }, [grown, indexOf]);

  const offsetOf = useCallback(
    (index: number) => {
      let offset = index * rowHeight;
      for (const [tallIndex, height] of tall) {
        if (tallIndex >= index) break;
        offset += height - rowHeight;
      }
      return offset;
    },
    [tall, rowHeight],
  );

  const indexAt = useCallback(
    (y: number) => {
      let extra = 0;
      for (const [tallIndex, height] of tall) {
        const top = tallIndex * rowHeight + extra;
        if (y < top) break;
        if (y < top + height) return tallIndex;
        extra += height - rowHeight;
      }
      return Math.floor((y - extra) / rowHeight);
    },
    [tall, rowHeight],
  );

  const total = offsetOf(count);
  const height = Math.min(total, maxHeight);
  const first = Math.max(0, indexAt(scrollTop) - overscan);
  const last = Math.min(count - 1, indexAt(scrollTop + viewport) + overscan);

  // -- measuring ------------------------------------------------------------------------------------

  const observer = useRef<ResizeObserver | null>(null);
  const pending = useRef(new Map<number, number>());
  useEffect(() => {
    const flush = () => {
      const updates = pending.current;
      pending.current = new Map();
      setGrown((current) => {
        let next: Map<number, number> | null = null;
        for (const [key, measured] of updates) {
          const known = current.get(key);
          const isTall = measured > rowHeight + 0.5;
          if (isTall ? known !== undefined && Math.abs(known - measured) < 0.5 : known === undefined)
            continue;
          next ??= new Map(current);
          if (isTall) next.set(key, measured);
          else next.delete(key);
        }
        return next ?? current;
      });
    };
    observer.current = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const key = Number((entry.target as HTMLElement).dataset.rowKey);
        const size = entry.borderBoxSize[0]?.blockSize ?? entry.target.getBoundingClientRect().height;
        if (Number.isFinite(key)) pending.current.set(key, size);
      }
      flush();
    });
    return () => observer.current?.disconnect();
  }, [rowHeight]);

  const measureRef = useCallback((element: HTMLElement | null) => {
    if (element === null) return;
    observer.current?.observe(element);
    return () => observer.current?.unobserve(element);
  }, []);

  // -- scrolling ------------------------------------------------------------------------------------

  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null) return;
    const resize = new ResizeObserver(() => setViewport(element.clientHeight || maxHeight));
    resize.observe(element);
    return () => resize.disconnect();
  }, [maxHeight]);

  const frame = useRef<number | null>(null);
  const onScroll = useCallback(() => {
    const element = scroller.current;
    if (element === null) return;
    const atEnd = element.scrollHeight - element.scrollTop - element.clientHeight < SETTLE_PX;
    if (following.current !== atEnd && followEnd) {
      following.current = atEnd;
      props.onFollowChange?.(atEnd);
    }
    if (frame.current !== null) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = null;
      setScrollTop(scroller.current?.scrollTop ?? 0);
    });
  }, [followEnd, props.onFollowChange]);
  useEffect(
    () => () => {
      if (frame.current !== null) cancelAnimationFrame(frame.current);
    },
    [],
  );

  const scrollToEnd = useCallback(() => {
    const element = scroller.current;
    if (element === null) return;
    following.current = followEnd;
    element.scrollTop = element.scrollHeight;
    setScrollTop(element.scrollTop);
    if (followEnd) props.onFollowChange?.(true);
  }, [followEnd, props.onFollowChange]);
  useEffect(() => props.scrollToEndRef?.(scrollToEnd), [props.scrollToEndRef, scrollToEnd]);

  // New rows (or a row growing) while following: stay at the end.
  useLayoutEffect(() => {
    const element = scroller.current;
    if (element === null || !following.current || total <= 0) return;
    element.scrollTop = element.scrollHeight;
    if (element.scrollTop !== scrollTop) setScrollTop(element.scrollTop);
  }, [total, scrollTop]);

  // Each reveal request (a new nonce) scrolls once, as soon as its row exists.
  const revealed = useRef<number | undefined>(undefined);
  const reveal = props.reveal;
  useLayoutEffect(() => {
    const element = scroller.current;
    if (reveal === null || reveal === undefined || element === null || reveal.nonce === revealed.current)
      return;
    const index = indexOf(reveal.key);
    if (index === undefined) return;
    revealed.current = reveal.nonce;
    const top = offsetOf(index);
    if (top < element.scrollTop || top + rowHeight > element.scrollTop + element.clientHeight) {
      element.scrollTop = Math.max(0, top - rowHeight * 2);
      setScrollTop(element.scrollTop);
    }
  }, [reveal, indexOf, offsetOf, rowHeight]);

  const rows: ReactNode[] = [];
  for (let index = first; index <= last; index++) {
    rows.push(
      props.renderRow({
        index,
        rowKey: keyOf(index),
        top: offsetOf(index),
        measureRef,
      }),
    );
  }

  return (
    <section
      ref={scroller}
      className={`virtual-list ${props.className ?? ""}`}
      style={{ height, maxHeight }}
      onScroll={onScroll}
      aria-label={props.label}
      // Scrollable with the keyboard even when no row holds focus.
      // biome-ignore lint/a11y/noNoninteractiveTabindex: a scroll container must be focusable to scroll by keyboard
      tabIndex={0}
    >
      <ol className="virtual-list__rows" style={{ height: total }}>
        {rows}
      </ol>
    </section>
  );
}

/** The absolute position of a row's `<li>`. */
export function rowStyle(top: number): CSSProperties {
  return { position: "absolute", top, left: 0, right: 0 };
}

/** `indexOf` for rows sorted by ascending key (events by seq). */
export function indexOfSortedKey<Item>(items: readonly Item[], key: number, keyOf: (item: Item) => number) {
  let low = 0;
  let high = items.length - 1;
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = keyOf(items[middle] as Item);
    if (found === key) return middle;
    if (found < key) low = middle + 1;
    else high = middle - 1;
  }
  return undefined;
}

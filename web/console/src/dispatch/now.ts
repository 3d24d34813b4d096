// One clock for every countdown on the screen: a reactive "now" that ticks each second
// while some component uses it, without asking any service again.
import { onBeforeUnmount, onMounted, readonly, ref, type Ref } from "vue";

const now = ref(Date.now());
let users = 0;
let timer: number | undefined;

export function useNow(): Readonly<Ref<number>> {
  onMounted(() => {
    if (users++ === 0) {
      now.value = Date.now();
      timer = window.setInterval(() => (now.value = Date.now()), 1000);
    }
  });
  onBeforeUnmount(() => {
    if (--users === 0) window.clearInterval(timer);
  });
  return readonly(now);
}

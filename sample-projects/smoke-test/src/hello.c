#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("hello 1.4.0 (%s)\n", __VERSION__);
        return 0;
    }
    puts("hello");
    return 0;
}

#include <cstdio>
int main() { std::puts("planner"); }
